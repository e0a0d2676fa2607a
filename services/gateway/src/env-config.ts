// Gateway configuration from the environment, parsed once at boot with clear errors.
import { DEFAULT_PORT, ErrorCodes, VigilError } from '@vigil/protocol';
import type { GatewaySettings } from './options.js';

export type EnvConfig = { host: string; port: number; drainMs: number; options: GatewaySettings };

export function readEnvConfig(env: NodeJS.ProcessEnv): EnvConfig {
  const port = parseInteger(env.PORT ?? env.VIGIL_PORT, 'PORT', DEFAULT_PORT, 0, 65535);
  const options: GatewaySettings = {
    redisUrl: env.VIGIL_REDIS_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
  if (env.VIGIL_GATEWAY_ID) options.gatewayId = env.VIGIL_GATEWAY_ID;
  // VIGIL_PUBLIC_ORIGINS; CORS_ORIGINS and VIGIL_CORS_ORIGINS are its older names.
  const origins = env.VIGIL_PUBLIC_ORIGINS ?? env.CORS_ORIGINS ?? env.VIGIL_CORS_ORIGINS;
  if (origins) options.publicOrigins = list(origins);
  const host = env.HOST ?? env.VIGIL_BIND_HOST ?? '0.0.0.0';
  options.metricsPort = env.VIGIL_METRICS_PORT === 'off' ? false : parseInteger(env.VIGIL_METRICS_PORT, 'VIGIL_METRICS_PORT', DEFAULT_METRICS_PORT, 0, 65535);
  options.metricsHost = env.VIGIL_METRICS_HOST ?? host;
  if (env.VIGIL_MAX_BUFFERED_BYTES) options.maxBufferedBytes = parseInteger(env.VIGIL_MAX_BUFFERED_BYTES, 'VIGIL_MAX_BUFFERED_BYTES', 1 << 20, 64 * 1024, 1 << 30);
  if (env.VIGIL_MAX_CONNECTIONS_PER_ADDRESS) {
    options.maxConnectionsPerAddress = parseInteger(env.VIGIL_MAX_CONNECTIONS_PER_ADDRESS, 'VIGIL_MAX_CONNECTIONS_PER_ADDRESS', 100, 1, 1_000_000);
  }
  if (env.VIGIL_HANDSHAKES_PER_SECOND) options.handshakesPerSecond = parseInteger(env.VIGIL_HANDSHAKES_PER_SECOND, 'VIGIL_HANDSHAKES_PER_SECOND', 20, 1, 100_000);
  if (env.VIGIL_REST_RATE_LIMIT) options.restRateLimit = parseInteger(env.VIGIL_REST_RATE_LIMIT, 'VIGIL_REST_RATE_LIMIT', 600, 0, 1_000_000);
  if (env.VIGIL_TRUST_PROXY) options.trustProxy = parseTrustProxy(env.VIGIL_TRUST_PROXY);
  if (env.VIGIL_MAX_ROOMS_PER_SOCKET) options.maxRoomsPerSocket = parseInteger(env.VIGIL_MAX_ROOMS_PER_SOCKET, 'VIGIL_MAX_ROOMS_PER_SOCKET', 256, 1, 10_000);
  if (env.VIGIL_STALE_SWEEP_MS) options.staleSweepMs = parseInteger(env.VIGIL_STALE_SWEEP_MS, 'VIGIL_STALE_SWEEP_MS', 1000, 50, 600_000);
  const drainMs = parseInteger(env.VIGIL_DRAIN_MS, 'VIGIL_DRAIN_MS', 10_000, 0, 600_000);
  // VIGIL_HOST is the collector's reported host name; the gateway binds to HOST (or VIGIL_BIND_HOST).
  return { host, port, drainMs, options };
}

/** Prometheus's port range for exporters; see docs/gateway.md. */
export const DEFAULT_METRICS_PORT = 9464;

const list = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);

function parseTrustProxy(raw: string): boolean | number | string[] {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^\d+$/.test(raw)) return parseInteger(raw, 'VIGIL_TRUST_PROXY', 0, 0, 32);
  return list(raw);
}

function parseInteger(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new VigilError(ErrorCodes.CONFIG_INVALID, `${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return n;
}
