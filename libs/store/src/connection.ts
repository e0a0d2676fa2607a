// Redis connections from a URL (redis:// or rediss://, with user, password and db) and TLS
// material (redis-tls.ts), with the retry behaviour each role needs to ride out an outage
// without crashing or hanging. Given a Redis Cluster's seed nodes, the same roles on an ioredis
// Cluster (the URL then gives only the credentials and the scheme).
import { isIP } from 'node:net';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
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

export type RedisClusterNode = { host: string; port: number };

const CLUSTER_NODES_MAX = 64;

/** Parses `host:port,host:port,…` (`[v6]:port` for IPv6), as VIGIL_REDIS_CLUSTER_NODES gives it. */
export function parseClusterNodes(text: string): RedisClusterNode[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0 || items.length > CLUSTER_NODES_MAX) {
    throw new VigilError(ErrorCodes.REDIS_CLUSTER_NODES_INVALID, `Redis Cluster nodes: expected 1 to ${CLUSTER_NODES_MAX} host:port items separated by commas, got ${items.length}`);
  }
  return items.map((item) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      // Echoed without what precedes an '@': a seed given as a URL (`redis://user:secret@h:1`) holds a password.
      const shown = item.slice(0, 300).replace(/^.*@/, '…@');
      throw new VigilError(ErrorCodes.REDIS_CLUSTER_NODES_INVALID, `Redis Cluster node "${shown}" is not host:port (credentials belong in the Redis URL)`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** Checks a cluster target as createRedis will read it (the seed list; the URL's database is 0); throws with a code. */
export function checkClusterTarget(url: string, clusterNodes: string): void {
  parseClusterNodes(clusterNodes);
  const { db } = parseRedisUrl(url);
  if (db !== 0) throw new VigilError(ErrorCodes.REDIS_CLUSTER_NODES_INVALID, `a Redis Cluster has only database 0; the Redis URL names database ${db}`);
}

/** Whether a client is an ioredis Cluster (a Cluster is handed around typed as a Redis: see createRedis). */
export function isCluster(redis: Redis | Cluster): boolean {
  return redis.isCluster;
}

export type CreateRedisHooks = {
  name?: string;
  onError?: (err: Error) => void;
  tls?: RedisTls | undefined;
  /** A Redis Cluster's seed nodes (`host:port,…` or parsed): connect to the cluster, not to the URL's host. */
  clusterNodes?: string | readonly RedisClusterNode[] | undefined;
};

/**
 * A client for `role`. With `hooks.clusterNodes`, an ioredis Cluster: it has the command surface
 * vigil uses (commands, pipelines of one slot, scripts, sharded pub/sub) and is returned typed as
 * a Redis so that every store takes either; what differs on a cluster (a pipeline or a script
 * stays in one slot) is handled where it matters, with `isCluster`.
 */
export function createRedis(url: string, role: RedisRole, hooks: CreateRedisHooks = {}): Redis {
  if (hooks.clusterNodes !== undefined) return createCluster(url, role, hooks) as unknown as Redis;
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

function createCluster(url: string, role: RedisRole, hooks: CreateRedisHooks): Cluster {
  const nodes = typeof hooks.clusterNodes === 'string' ? parseClusterNodes(hooks.clusterNodes) : [...hooks.clusterNodes!];
  const base = parseRedisUrl(url);
  if (base.db !== 0) throw new VigilError(ErrorCodes.REDIS_CLUSTER_NODES_INVALID, `a Redis Cluster has only database 0; the Redis URL names database ${base.db}`);
  let tls = base.tls;
  if (hooks.tls) {
    if (!tls) throw new VigilError(ErrorCodes.REDIS_TLS_INVALID, 'Redis TLS files are given but the Redis URL is redis://; use rediss:// for TLS');
    tls = { ...tls, ...hooks.tls };
  }
  const waitThroughOutage = role !== 'command';
  const options: ClusterOptions = {
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    // Reads go to masters: a reader must see what was just written (a replica lags).
    scaleReads: 'master',
    // A failover moves slots: wait for the cluster to settle, and re-learn who serves what.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 32,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
    // A node that dropped its connection (restarted, or a replica back) is reconnected; without
    // this, ioredis waits for a MOVED to notice it again.
    clusterNodeRetryStrategy: (times: number) => Math.min(100 * times, 2000),
    // The adapter's SSUBSCRIBEs go to the node that serves each channel's slot.
    shardedSubscribers: role === 'subscriber',
    redisOptions: {
      ...(base.username ? { username: base.username } : {}),
      ...(base.password ? { password: base.password } : {}),
      ...(tls ? { tls } : {}),
      connectionName: hooks.name,
      maxRetriesPerRequest: waitThroughOutage ? null : 0,
      commandTimeout: waitThroughOutage ? undefined : 2000,
      connectTimeout: 5000,
      autoResubscribe: true,
      disableClientInfo: true,
    },
  };
  const client = new Cluster(nodes, options);
  client.on('error', (err: Error) => hooks.onError?.(err));
  return client;
}

/** Closes a client: QUIT when it is connected, otherwise (or if QUIT stalls) disconnect. */
export async function closeRedis(client: Redis | Cluster, timeoutMs = 1000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect(false);
    await ended(client, timeoutMs);
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
  await ended(client, timeoutMs);
}

/** A Cluster reaches `end` a moment after its nodes have closed; a Redis at once. Bounded by `timeoutMs`. */
function ended(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if ((client.status as string) === 'end') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      client.off('end', done);
      resolve();
    }
    client.once('end', done);
  });
}
