// Gateway configuration from the environment, parsed once at boot into the same schema as
// buildApp's options (options.ts), plus what only the process needs (address, log level, drain).
// Defaults live with their schema; an invalid value is an error that names its variable.
import { Type } from '@sinclair/typebox';
import { DEFAULT_PORT, ErrorCodes, VigilError, compile, envNames } from '@vigil/protocol';
import { checkSettings, type GatewaySettings } from './options.js';
import { DEFAULT_DRAIN_MS } from './drain.js';
import { authSettingsFromEnv, type AuthSettings } from './auth/auth-config.js';
import { checkClusterTarget, redisTlsFromEnv, type RedisTls } from '@vigil/store';

export type EnvConfig = {
  host: string;
  port: number;
  drainMs: number;
  logLevel: string;
  dashboardDir?: string;
  options: GatewaySettings & { auth: AuthSettings };
  /** From VIGIL_REDIS_TLS_CA_FILE / _CERT_FILE / _KEY_FILE, read and checked now. */
  redisTls?: RedisTls;
};

const ProcessSettings = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  drainMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
  // pino's levels; a pattern, so a wrong one is answered with the list.
  logLevel: Type.String({ pattern: '^(trace|debug|info|warn|error|fatal|silent)$' }),
});
const checkProcess = compile(ProcessSettings);

const PROCESS_DEFAULTS = { port: DEFAULT_PORT, host: '0.0.0.0', drainMs: DEFAULT_DRAIN_MS, logLevel: 'info' };
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `secret`: the value may hold a password, so an error names the variable but never echoes it. */
type Source = { names: string[]; parse?: 'integer' | 'number' | 'list' | 'port-or-off' | 'trust'; secret?: true };

/** The CLI's metrics port (Prometheus's range for exporters); buildApp alone opens none. */
export const DEFAULT_METRICS_PORT = 9464;

// Each setting and its variables, first set wins: a VIGIL_ variable before the generic one it
// falls back to (envNames; docs/gateway.md has the table). VIGIL_HOST is the collector's reported
// host name; the gateway binds to VIGIL_BIND_HOST, else HOST.
const PROCESS_ENV: Record<keyof typeof PROCESS_DEFAULTS, Source> = {
  port: { names: envNames('VIGIL_PORT'), parse: 'integer' },
  host: { names: envNames('VIGIL_BIND_HOST') },
  drainMs: { names: ['VIGIL_DRAIN_MS'], parse: 'integer' },
  logLevel: { names: envNames('VIGIL_LOG_LEVEL') },
};
const SETTINGS_ENV: Partial<Record<keyof GatewaySettings, Source>> = {
  redisUrl: { names: envNames('VIGIL_REDIS_URL'), secret: true },
  redisClusterNodes: { names: ['VIGIL_REDIS_CLUSTER_NODES'] },
  gatewayId: { names: ['VIGIL_GATEWAY_ID'] },
  // VIGIL_CORS_ORIGINS and CORS_ORIGINS are older names of VIGIL_PUBLIC_ORIGINS (the generic one last).
  publicOrigins: { names: ['VIGIL_PUBLIC_ORIGINS', 'VIGIL_CORS_ORIGINS', 'CORS_ORIGINS'], parse: 'list' },
  metricsPort: { names: ['VIGIL_METRICS_PORT'], parse: 'port-or-off' },
  metricsHost: { names: ['VIGIL_METRICS_HOST'] },
  maxBufferedBytes: { names: ['VIGIL_MAX_BUFFERED_BYTES'], parse: 'integer' },
  maxConnectionsPerAddress: { names: ['VIGIL_MAX_CONNECTIONS_PER_ADDRESS'], parse: 'integer' },
  handshakesPerSecond: { names: ['VIGIL_HANDSHAKES_PER_SECOND'], parse: 'number' },
  trustProxy: { names: ['VIGIL_TRUST_PROXY'], parse: 'trust' },
  restRateLimit: { names: ['VIGIL_REST_RATE_LIMIT'], parse: 'integer' },
  maxRoomsPerSocket: { names: ['VIGIL_MAX_ROOMS_PER_SOCKET'], parse: 'integer' },
  staleSweepMs: { names: ['VIGIL_STALE_SWEEP_MS'], parse: 'integer' },
  alertWebhookUrl: { names: ['VIGIL_ALERT_WEBHOOK_URL'], secret: true },
  alertWebhookTimeoutMs: { names: ['VIGIL_ALERT_WEBHOOK_TIMEOUT_MS'], parse: 'integer' },
  alertWebhookAttempts: { names: ['VIGIL_ALERT_WEBHOOK_ATTEMPTS'], parse: 'integer' },
  alertWebhookBackoffMs: { names: ['VIGIL_ALERT_WEBHOOK_BACKOFF_MS'], parse: 'integer' },
  alertWebhookConcurrency: { names: ['VIGIL_ALERT_WEBHOOK_CONCURRENCY'], parse: 'integer' },
  alertWebhookClaimIdleMs: { names: ['VIGIL_ALERT_WEBHOOK_CLAIM_IDLE_MS'], parse: 'integer' },
  serverRetentionMs: { names: ['VIGIL_SERVER_RETENTION_MS', 'VIGIL_SERVER_RETENTION'], parse: 'integer' },
};

export function readEnvConfig(env: NodeJS.ProcessEnv): EnvConfig {
  const used = new Map<string, { name: string; raw: string | null }>();
  const read = (table: Record<string, Source | undefined>) => {
    const out: Record<string, unknown> = {};
    for (const [key, source] of Object.entries(table)) {
      const name = source?.names.find((n) => env[n] !== undefined && env[n] !== '');
      if (!source || !name) continue;
      const raw = env[name]!;
      used.set(key, { name, raw: source.secret ? null : raw });
      out[key] = convert(raw, source.parse);
    }
    return out;
  };
  const processPart = { ...PROCESS_DEFAULTS, ...read(PROCESS_ENV) };
  const options = { redisUrl: DEFAULT_REDIS_URL, metricsPort: DEFAULT_METRICS_PORT, metricsHost: processPart.host, ...read(SETTINGS_ENV) };
  for (const [value, check] of [[processPart, checkProcess], [options, checkSettings]] as const) {
    const problem = check.explain(value);
    if (problem !== null) throw configError(problem, used);
  }
  const cluster = (options as GatewaySettings).redisClusterNodes;
  if (cluster !== undefined) {
    try {
      checkClusterTarget((options as GatewaySettings).redisUrl, cluster);
    } catch (err) {
      // A bad URL keeps its own code (REDIS_URL_INVALID): only the seed list's faults are the seed list's.
      if (err instanceof VigilError && err.code !== ErrorCodes.REDIS_CLUSTER_NODES_INVALID) throw err;
      throw new VigilError(ErrorCodes.REDIS_CLUSTER_NODES_INVALID, `VIGIL_REDIS_CLUSTER_NODES: ${(err as Error).message}`);
    }
  }
  // Auth is several variables that make one choice (VIGIL_AUTH, VIGIL_AUTH_SECRET…): read as a
  // whole into the `auth` option; no key and no VIGIL_AUTH=none throws AUTH_CONFIG_INVALID.
  const auth = authSettingsFromEnv(env);
  const redisTls = redisTlsFromEnv(env);
  const { port, host, drainMs, logLevel } = processPart as typeof PROCESS_DEFAULTS;
  return {
    port,
    host,
    drainMs,
    logLevel,
    ...(env.VIGIL_DASHBOARD_DIR ? { dashboardDir: env.VIGIL_DASHBOARD_DIR } : {}),
    options: { ...(options as GatewaySettings), auth },
    ...(redisTls ? { redisTls } : {}),
  };
}

function convert(raw: string, parse: Source['parse']): unknown {
  if (parse === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (parse === 'port-or-off' && raw === 'off') return false;
  if (parse === 'trust') return raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : convert(raw, 'list');
  if (parse === 'number' || parse === 'port-or-off') return raw.trim() === '' ? raw : Number(raw);
  // Number('') and Number(' ') are 0; a blank is not a number.
  if (parse === 'integer') return raw.trim() === '' ? raw : Number(raw);
  return raw;
}

/** "`/maxRoomsPerSocket: Expected …`" becomes "VIGIL_MAX_ROOMS_PER_SOCKET="0": Expected …". */
function configError(problem: string, used: Map<string, { name: string; raw: string | null }>): VigilError {
  const match = /^\/([^/:]+)[^:]*: (.*)$/.exec(problem);
  const source = match ? used.get(match[1]!) : undefined;
  const value = source?.raw == null ? '' : `=${JSON.stringify(source.raw.slice(0, 200))}`;
  const text = source ? `${source.name}${value} is invalid: ${match![2]}` : `invalid configuration: ${problem}`;
  return new VigilError(ErrorCodes.CONFIG_INVALID, text);
}
