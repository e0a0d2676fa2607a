// Redis connections from a URL (redis:// or rediss://, with user, password and db) and TLS
// material (redis-tls.ts), with the retry behaviour each role needs to ride out an outage
// without crashing or hanging.
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import type { RedisTls } from './redis-tls.js';

/**
 * - `subscriber`/`publisher`: used by the Socket.IO adapter. Commands wait through an outage
 *   (never rejected while reconnecting) so the adapter's unguarded promises cannot fail, and
 *   sharded subscriptions are restored on reconnect.
 * - `command`: reads and writes on behalf of a request or a tick. A command issued while
 *   connecting waits for that attempt; once an attempt fails it is rejected (and any command
 *   stalls at most `commandTimeout`), so a caller answers "unavailable" instead of hanging.
 */
export type RedisRole = 'subscriber' | 'publisher' | 'command';

export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: an unparseable URL may still hold a password.
    throw new VigilError(ErrorCodes.REDIS_URL_INVALID, 'Redis URL is not a valid URL; expected redis[s]://[user:password@]host[:port][/db]');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new VigilError(ErrorCodes.REDIS_URL_INVALID, `Redis URL must start with redis:// or rediss://, got "${parsed.protocol}//"`);
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) {
    throw new VigilError(ErrorCodes.REDIS_URL_INVALID, `Redis URL database must be 0..15, got "${dbText}"`);
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    db,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') {
    // SNI carries host names only; a certificate for an IP is still checked against its SANs.
    options.tls = isIP(options.host!) ? {} : { servername: parsed.hostname };
  }
  return options;
}

/** Backoff for reconnects: quick at first, then every 2 s, forever. */
function retryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000);
}

export function createRedis(
  url: string,
  role: RedisRole,
  hooks: { name?: string; onError?: (err: Error) => void; tls?: RedisTls | undefined } = {},
): Redis {
  const base = parseRedisUrl(url);
  if (hooks.tls) {
    // Never fall back to plain TCP when the operator gave TLS files.
    if (!base.tls) throw new VigilError(ErrorCodes.REDIS_TLS_INVALID, 'Redis TLS files are given but the Redis URL is redis://; use rediss:// for TLS');
    base.tls = { ...base.tls, ...hooks.tls };
  }
  const waitThroughOutage = role !== 'command';
  const client = new Redis({
    ...base,
    connectionName: hooks.name,
    retryStrategy,
    maxRetriesPerRequest: waitThroughOutage ? null : 0,
    enableOfflineQueue: true,
    commandTimeout: waitThroughOutage ? undefined : 2000,
    connectTimeout: 5000,
    autoResubscribe: true,
    enableReadyCheck: true,
    // CLIENT SETINFO is not in Redis 7.0, and the ACL users (deploy/redis/users.acl) are not
    // granted it: sending it would only fill the server's ACL LOG.
    disableClientInfo: true,
  });
  // Without a listener ioredis prints every failed reconnect; the owner decides what to log.
  client.on('error', (err: Error) => hooks.onError?.(err));
  return client;
}

/** Closes a client: QUIT when it is connected, otherwise (or if QUIT stalls) disconnect. */
export async function closeRedis(client: Redis, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect(false);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if ((client.status as string) !== 'end') client.disconnect(false);
}
