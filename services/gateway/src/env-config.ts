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
  if (env.CORS_ORIGINS ?? env.VIGIL_CORS_ORIGINS) {
    options.corsOrigins = (env.CORS_ORIGINS ?? env.VIGIL_CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (env.VIGIL_MAX_ROOMS_PER_SOCKET) options.maxRoomsPerSocket = parseInteger(env.VIGIL_MAX_ROOMS_PER_SOCKET, 'VIGIL_MAX_ROOMS_PER_SOCKET', 256, 1, 10_000);
  if (env.VIGIL_STALE_SWEEP_MS) options.staleSweepMs = parseInteger(env.VIGIL_STALE_SWEEP_MS, 'VIGIL_STALE_SWEEP_MS', 1000, 50, 600_000);
  const drainMs = parseInteger(env.VIGIL_DRAIN_MS, 'VIGIL_DRAIN_MS', 10_000, 0, 600_000);
  // VIGIL_HOST is the collector's reported host name; the gateway binds to HOST (or VIGIL_BIND_HOST).
  return { host: env.HOST ?? env.VIGIL_BIND_HOST ?? '0.0.0.0', port, drainMs, options };
}

function parseInteger(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new VigilError(ErrorCodes.CONFIG_INVALID, `${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return n;
}
