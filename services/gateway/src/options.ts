// Gateway options: what buildApp() accepts, one schema with its defaults, checked once with
// messages that name the option. The environment (env-config.ts) is read into the same schema.
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { checkClusterTarget, type RedisTls } from '@vigil/store';
import {
  DEFAULT_SERVER_RETENTION_MS,
  ErrorCodes,
  SERVER_RETENTION_MAX_MS,
  SERVER_RETENTION_MIN_MS,
  TOKEN_EXPIRY_WARNING_MS,
  VigilError,
  WS_HEARTBEAT_MS,
  compile,
} from '@vigil/protocol';
import { isAddressOrRange } from './client-address.js';
import { AuthSettings } from './auth/auth-config.js';
import { DEFAULT_SILENT_SESSION_MS } from './sessions/silence.js';

/** Most rooms any client may be allowed (the ceiling of maxRoomsPerSocket, and of a stored session). */
export const ROOMS_PER_SOCKET_CEILING = 10_000;

export const GatewaySettings = Type.Object(
  {
    /** `redis://` or `rediss://` (TLS), with optional user, password and database. */
    redisUrl: Type.String({ minLength: 1, maxLength: 2048, pattern: '^rediss?://' }),
    /**
     * A Redis Cluster's seed nodes, `host:port,host:port,…`: the gateway then runs on the cluster,
     * and `redisUrl` gives only the credentials and the scheme (`rediss://` for TLS), database 0.
     */
    redisClusterNodes: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    gatewayId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,128}$' })),
    /**
     * The public origins browsers may use (Socket.IO, REST CORS). Requests with no Origin (scripts)
     * pass. Default: the loopback origins of the listening port. Never "Origin equals Host".
     */
    publicOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })),
    /** Older name of `publicOrigins`. */
    corsOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })),
    /** Port of /metrics, off the public one: 0 any free port, false none. */
    metricsPort: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Literal(false)])),
    metricsHost: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** A socket with more unsent bytes than this is disconnected (a slow consumer). */
    maxBufferedBytes: Type.Optional(Type.Integer({ minimum: 64 * 1024, maximum: 1024 * 1024 * 1024 })),
    maxConnectionsPerAddress: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    handshakesPerSecond: Type.Optional(Type.Number({ minimum: 0.1, maximum: 100_000 })),
    /** Which X-Forwarded-For hops to believe: true all, a hop count, or proxy addresses / CIDR ranges. */
    trustProxy: Type.Optional(
      Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 32 }), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })]),
    ),
    /** REST requests per minute per client address; 0 turns the limit off. */
    restRateLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    /**
     * Refuse subscriptions to servers no collector registered (VIGIL_ERR_UNKNOWN_SERVER). Off only
     * for embeddings and tests whose clients subscribe before anything registers.
     */
    refuseUnknownServers: Type.Optional(Type.Boolean()),
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
    /** POST each alert as JSON here (alert-webhook.ts); none by default. Its query and credentials are never logged. */
    alertWebhookUrl: Type.Optional(Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' })),
    /** Per request. */
    alertWebhookTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
    /** Tries per alert before it counts as failed. */
    alertWebhookAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Wait before the second try; doubled for each next one (at most 60 s). */
    alertWebhookBackoffMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
    /** Deliveries in flight per gateway. */
    alertWebhookConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** A delivery left pending this long (its gateway died) is taken over by another gateway. */
    alertWebhookClaimIdleMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
    /**
     * A server exited, stopped or stale with no sign of life for this long (ms) is removed with
     * all its keys (every gateway sweeps; each server is removed once). Default 24 h.
     */
    serverRetentionMs: Type.Optional(Type.Integer({ minimum: SERVER_RETENTION_MIN_MS, maximum: SERVER_RETENTION_MAX_MS })),
    /** How often /ws peers are pinged; one that has not answered the previous ping is closed. */
    wsHeartbeatMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
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
  /** TLS material for a rediss:// URL (a CA, and a client certificate and key), read once by `redisTlsFromEnv`/`readRedisTls` of @vigil/store. */
  redisTls?: RedisTls;
};

export type ResolvedOptions = Required<Omit<GatewaySettings, 'publicOrigins' | 'corsOrigins' | 'alertWebhookUrl' | 'redisClusterNodes'>> & {
  /** undefined: one Redis, at `redisUrl`. */
  redisClusterNodes: string | undefined;
  /** undefined: no webhook. */
  alertWebhookUrl: string | undefined;
  /** undefined: the loopback origins of the listening port. */
  publicOrigins: string[] | undefined;
  logger: Logger | undefined;
  metricsRegistries: Registry[];
  dashboardDir: string | false | undefined;
  redisTls: RedisTls | undefined;
};

/** The default of every optional setting (gatewayId excepted: it is made up per process). */
const GATEWAY_DEFAULTS = {
  // A library embedding opens no extra port unless asked; the CLI's default is 9464 (env-config.ts).
  metricsPort: false,
  metricsHost: '127.0.0.1',
  maxBufferedBytes: 1024 * 1024,
  maxConnectionsPerAddress: 100,
  handshakesPerSecond: 20,
  trustProxy: false,
  restRateLimit: 600,
  refuseUnknownServers: true,
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
  alertWebhookTimeoutMs: 5000,
  alertWebhookAttempts: 5,
  alertWebhookBackoffMs: 1000,
  alertWebhookConcurrency: 4,
  alertWebhookClaimIdleMs: 30_000,
  serverRetentionMs: DEFAULT_SERVER_RETENTION_MS,
  wsHeartbeatMs: WS_HEARTBEAT_MS,
} satisfies Omit<Required<GatewaySettings>, 'redisUrl' | 'redisClusterNodes' | 'gatewayId' | 'publicOrigins' | 'corsOrigins' | 'auth' | 'alertWebhookUrl'>;

export const checkSettings = compile(GatewaySettings);

export function resolveOptions(options: GatewayOptions): ResolvedOptions {
  const { logger, metricsRegistries, dashboardDir, redisTls, ...settings } = options;
  const problem = checkSettings.explain(settings);
  if (problem) throw new VigilError(ErrorCodes.CONFIG_INVALID, `vigil gateway: invalid option ${problem}`);
  const auth = settings.auth;
  if (auth === undefined) {
    throw new VigilError(ErrorCodes.AUTH_CONFIG_INVALID, "vigil gateway: the auth option is required: { mode: 'jwt', secret | secretFile | publicKeyFile } or { mode: 'none' }");
  }
  const badProxy = Array.isArray(settings.trustProxy) ? settings.trustProxy.find((e) => !isAddressOrRange(e)) : undefined;
  if (badProxy !== undefined) throw new VigilError(ErrorCodes.CONFIG_INVALID, `vigil gateway: invalid option trustProxy: "${badProxy}" is not an IP address or CIDR range`);
  if (settings.alertWebhookUrl !== undefined && !URL.canParse(settings.alertWebhookUrl)) {
    // Never echoed: the URL may carry a secret.
    throw new VigilError(ErrorCodes.CONFIG_INVALID, 'vigil gateway: invalid option alertWebhookUrl: not a URL');
  }
  // Checked now, so a bad list is a start-up error with its own code (REDIS_CLUSTER_NODES_INVALID), not a connection that never comes.
  if (settings.redisClusterNodes !== undefined) checkClusterTarget(settings.redisUrl, settings.redisClusterNodes);
  const { publicOrigins, corsOrigins, ...rest } = settings;
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<GatewaySettings, 'publicOrigins' | 'corsOrigins'>;
  return {
    ...GATEWAY_DEFAULTS,
    ...given,
    auth,
    publicOrigins: publicOrigins ?? corsOrigins,
    alertWebhookUrl: settings.alertWebhookUrl,
    redisClusterNodes: settings.redisClusterNodes,
    gatewayId: settings.gatewayId ?? `gw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    logger,
    metricsRegistries: metricsRegistries ?? [],
    dashboardDir,
    redisTls,
  };
}
