// Gateway options: what buildApp() accepts, one schema with its defaults, checked once with
// messages that name the option. The environment (env-config.ts) is read into the same schema.
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ErrorCodes, TOKEN_EXPIRY_WARNING_MS, VigilError, compile } from '@vigil/protocol';
import { AuthSettings } from './auth/auth-config.js';
import { DEFAULT_SILENT_SESSION_MS } from './sessions/silence.js';

/** Most rooms any client may be allowed (the ceiling of maxRoomsPerSocket, and of a stored session). */
export const ROOMS_PER_SOCKET_CEILING = 10_000;

export const GatewaySettings = Type.Object(
  {
    /** `redis://` or `rediss://` (TLS), with optional user, password and database. */
    redisUrl: Type.String({ minLength: 1, maxLength: 2048, pattern: '^rediss?://' }),
    gatewayId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' })),
    /** Origins allowed to connect from a browser (CORS and handshake). Requests with no Origin (scripts) are allowed. */
    corsOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })),
    maxRoomsPerSocket: Type.Optional(Type.Integer({ minimum: 1, maximum: ROOMS_PER_SOCKET_CEILING })),
    eventsPerSecond: Type.Optional(Type.Number({ minimum: 1, maximum: 10_000 })),
    eventBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    maxPayloadBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 10_000_000 })),
    staleSweepMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 600_000 })),
    readinessTimeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
    /** How long a disconnected client's rooms are kept for it to reconnect to any gateway. */
    sessionTtlMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000 })),
    /**
     * Who may connect: `{ mode: 'jwt', secret | secretFile | publicKeyFile, audience?, issuer? }`,
     * or `{ mode: 'none' }` (everyone sees everything; warned at every start). Required: there is
     * no default, so a gateway is never open by accident.
     */
    auth: Type.Optional(AuthSettings),
    /** How long before its token expires a socket is sent `token-expiring`. */
    tokenExpiryWarningMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000 })),
    /** A client holding rooms with traffic but sent nothing for this long counts in vigil_gateway_silent_sessions. */
    silentSessionMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
export type GatewaySettings = Static<typeof GatewaySettings>;

export type GatewayOptions = GatewaySettings & {
  /** Required (the schema lets env-config add it last; the type makes every caller choose). */
  auth: AuthSettings;
  /** A pino logger; defaults to a silent one so tests stay quiet. */
  logger?: Logger;
  /** More registries to serve on /metrics (the process-wide Node.js metrics, for one). */
  metricsRegistries?: Registry[];
  /** Directory of the dashboard build served at `/`; false to serve none. Default: the repository's services/dashboard/dist. */
  dashboardDir?: string | false;
};

export type ResolvedOptions = Required<GatewaySettings> & { logger: Logger | undefined; metricsRegistries: Registry[]; dashboardDir: string | false | undefined };

/** The default of every optional setting (gatewayId excepted: it is made up per process). */
const GATEWAY_DEFAULTS = {
  corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  maxRoomsPerSocket: 256,
  // A dashboard re-joining 100+ servers after a reconnect must fit in one burst.
  eventsPerSecond: 50,
  eventBurst: 300,
  maxPayloadBytes: 64 * 1024,
  staleSweepMs: 1000,
  readinessTimeoutMs: 1000,
  sessionTtlMs: 120_000,
  tokenExpiryWarningMs: TOKEN_EXPIRY_WARNING_MS,
  silentSessionMs: DEFAULT_SILENT_SESSION_MS,
} satisfies Omit<Required<GatewaySettings>, 'redisUrl' | 'gatewayId' | 'auth'>;

export const checkSettings = compile(GatewaySettings);

export function resolveOptions(options: GatewayOptions): ResolvedOptions {
  const { logger, metricsRegistries, dashboardDir, ...settings } = options;
  const problem = checkSettings.explain(settings);
  if (problem) throw new VigilError(ErrorCodes.CONFIG_INVALID, `vigil gateway: invalid option ${problem}`);
  const auth = settings.auth;
  if (auth === undefined) {
    throw new VigilError(ErrorCodes.AUTH_CONFIG_INVALID, "vigil gateway: the auth option is required: { mode: 'jwt', secret | secretFile | publicKeyFile } or { mode: 'none' }");
  }
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as GatewaySettings;
  return {
    ...GATEWAY_DEFAULTS,
    ...given,
    auth,
    gatewayId: settings.gatewayId ?? `gw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    logger,
    metricsRegistries: metricsRegistries ?? [],
    dashboardDir,
  };
}
