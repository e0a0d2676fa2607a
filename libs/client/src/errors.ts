// The client's error registry. A subscription rejects, and onError reports, a VigilClientError
// whose `code` is either a gateway code from @vigil/protocol (passed through unchanged from the
// ack) or one of the client's own codes below, which never travel on the wire.
import { ErrorCodes, type ErrorCode } from '@vigil/protocol';

export const ClientErrorCodes = {
  /** The client was closed while the operation was pending. */
  CLOSED: 'VIGIL_ERR_CLIENT_CLOSED',
  /** The subscription was cancelled by unsubscribe() before the gateway confirmed it. */
  CANCELLED: 'VIGIL_ERR_CLIENT_CANCELLED',
  /** This client already follows the logs of that server; use setLevel() on that subscription. */
  DUPLICATE_SUBSCRIPTION: 'VIGIL_ERR_CLIENT_DUPLICATE_SUBSCRIPTION',
  /** The gateway did not answer in time (retried by the client, never surfaced by a subscription). */
  TIMEOUT: 'VIGIL_ERR_CLIENT_TIMEOUT',
  /** The connection dropped before the answer came (retried after the reconnect). */
  DISCONNECTED: 'VIGIL_ERR_CLIENT_DISCONNECTED',
  /** The gateway's ack does not match its schema in the protocol (`Acks[event]`): the message names the field. */
  BAD_REPLY: 'VIGIL_ERR_CLIENT_BAD_REPLY',
  /** The gateway warned that the token expires, and the token source had no newer one to refresh with. */
  TOKEN_UNAVAILABLE: 'VIGIL_ERR_CLIENT_TOKEN_UNAVAILABLE',
} as const;

export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

/** Gateway codes are open-ended on purpose: a newer gateway may answer a code this client does not know. */
export type VigilErrorCode = ErrorCode | ClientErrorCode | (string & {});

/** Codes after which the client tries again by itself: the condition passes without anyone acting. */
const TRANSIENT = new Set<string>([
  ErrorCodes.RATE_LIMITED,
  ErrorCodes.REDIS_UNAVAILABLE,
  ErrorCodes.SHUTTING_DOWN,
  ClientErrorCodes.TIMEOUT,
  ClientErrorCodes.DISCONNECTED,
]);

export class VigilClientError extends Error {
  readonly code: VigilErrorCode;
  constructor(code: VigilErrorCode, message: string) {
    super(message);
    this.name = 'VigilClientError';
    this.code = code;
  }

  /** True when retrying the same request later can succeed. */
  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}

export function toClientError(err: unknown): VigilClientError {
  if (err instanceof VigilClientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VigilClientError(ErrorCodes.INTERNAL, message);
}
