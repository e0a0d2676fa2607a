// Error codes, one registry for every package. Codes are stable: clients and operators match on
// them. Each one is documented in docs/errors.md (a test keeps the two in step).
export const ErrorCodes = {
  INVALID_PAYLOAD: 'VIGIL_ERR_INVALID_PAYLOAD',
  UNKNOWN_ROOM: 'VIGIL_ERR_UNKNOWN_ROOM',
  UNKNOWN_EVENT: 'VIGIL_ERR_UNKNOWN_EVENT',
  TOO_MANY_ROOMS: 'VIGIL_ERR_TOO_MANY_ROOMS',
  RATE_LIMITED: 'VIGIL_ERR_RATE_LIMITED',
  REDIS_UNAVAILABLE: 'VIGIL_ERR_REDIS_UNAVAILABLE',
  REDIS_CORRUPT: 'VIGIL_ERR_REDIS_CORRUPT',
  SERVER_NOT_FOUND: 'VIGIL_ERR_SERVER_NOT_FOUND',
  INVALID_QUERY: 'VIGIL_ERR_INVALID_QUERY',
  INTERNAL: 'VIGIL_ERR_INTERNAL',
  SHUTTING_DOWN: 'VIGIL_ERR_SHUTTING_DOWN',
  CONFIG_INVALID: 'VIGIL_ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'VIGIL_ERR_CONFIG_UNREADABLE',
  REDIS_URL_INVALID: 'VIGIL_ERR_REDIS_URL_INVALID',
  REDIS_TLS_INVALID: 'VIGIL_ERR_REDIS_TLS_INVALID',
  REDIS_WRITE_FAILED: 'VIGIL_ERR_REDIS_WRITE_FAILED',
  SAMPLE_FAILED: 'VIGIL_ERR_SAMPLE_FAILED',
  TARGET_UNRESOLVED: 'VIGIL_ERR_TARGET_UNRESOLVED',
  EVENTS_DROPPED: 'VIGIL_ERR_EVENTS_DROPPED',
  LOGS_DROPPED: 'VIGIL_ERR_LOGS_DROPPED',
  COMMAND_FAILED: 'VIGIL_ERR_COMMAND_FAILED',
  UNHANDLED_REJECTION: 'VIGIL_ERR_UNHANDLED_REJECTION',
  UNAUTHORIZED: 'VIGIL_ERR_UNAUTHORIZED',
  TOKEN_EXPIRED: 'VIGIL_ERR_TOKEN_EXPIRED',
  FORBIDDEN: 'VIGIL_ERR_FORBIDDEN',
  UNKNOWN_SERVER: 'VIGIL_ERR_UNKNOWN_SERVER',
  SLOW_CONSUMER: 'VIGIL_ERR_SLOW_CONSUMER',
  TOO_MANY_CONNECTIONS: 'VIGIL_ERR_TOO_MANY_CONNECTIONS',
  ORIGIN_REFUSED: 'VIGIL_ERR_ORIGIN_REFUSED',
  AUTH_CONFIG_INVALID: 'VIGIL_ERR_AUTH_CONFIG_INVALID',
  FILE_NOT_REGULAR: 'VIGIL_ERR_FILE_NOT_REGULAR',
  TARGET_TIMEOUT: 'VIGIL_ERR_TARGET_TIMEOUT',
  REGEX_UNSAFE: 'VIGIL_ERR_REGEX_UNSAFE',
  REGEX_TOO_SLOW: 'VIGIL_ERR_REGEX_TOO_SLOW',
  STOP_TIMEOUT: 'VIGIL_ERR_STOP_TIMEOUT',
  ALERT_WEBHOOK_FAILED: 'VIGIL_ERR_ALERT_WEBHOOK_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error that carries a stable code; `expose` marks messages safe to show to a client. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly expose: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; expose?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VigilError';
    this.code = code;
    this.expose = options?.expose ?? true;
  }
}

export function errorAck(code: ErrorCode, message: string) {
  return { ok: false as const, error: { code, message } };
}
