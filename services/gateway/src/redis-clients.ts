// The gateway's three Redis connections, owned by one app instance and closed with it:
// the adapter's publisher and subscriber (which wait through outages) and a command client
// (which fails fast so requests can answer "unavailable"). On a Redis Cluster, the same three as
// ioredis Clusters: the adapter's SSUBSCRIBEs and SPUBLISHes each go to the node of their channel.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import { closeRedis, createRedis, type RedisTls } from '@vigil/store';

export type RedisClients = {
  pub: Redis;
  sub: Redis;
  command: Redis;
  /** The pub and sub clients as handed to the adapter: promise rejections it ignores are caught. */
  adapterPub: Redis;
  adapterSub: Redis;
  close(): Promise<void>;
};

const GUARDED = new Set(['ssubscribe', 'sunsubscribe', 'spublish', 'subscribe', 'unsubscribe', 'publish']);

/**
 * The Redis adapter calls (s)subscribe and (s)publish without handling a rejection. Rejections
 * happen when a client is closed with commands still queued (shutdown during an outage), and by
 * default end the process. The guard observes each promise so that cannot happen; callers that
 * await still see the rejection.
 */
function guard(client: Redis, onError: (err: unknown) => void): Redis {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop === 'string' && GUARDED.has(prop)) {
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result && typeof (result as Promise<unknown>).catch === 'function') (result as Promise<unknown>).catch(onError);
          return result;
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

export function openRedisClients(
  url: string,
  gatewayId: string,
  logger: Logger,
  onFailure: (op: string) => void = () => {},
  tls?: RedisTls,
  clusterNodes?: string,
): RedisClients {
  // Log a connection problem once per outage per client, not once per retry.
  const failing = new Set<string>();
  const onError = (name: string) => (err: Error) => {
    if (failing.has(name)) return;
    failing.add(name);
    logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, client: name, err: err.message }, 'redis connection lost; retrying');
  };
  const make = (role: 'publisher' | 'subscriber' | 'command') => {
    // With cluster nodes, each is an ioredis Cluster (the subscriber with a sharded subscriber per master).
    const client = createRedis(url, role, { name: `vigil-gw:${gatewayId}:${role}`, onError: onError(role), tls, clusterNodes });
    client.on('ready', () => {
      if (failing.delete(role)) logger.info({ client: role }, 'redis connection restored');
    });
    return client;
  };
  const pub = make('publisher');
  const sub = make('subscriber');
  const command = make('command');

  const adapterError = (err: unknown) => {
    onFailure('adapter');
    logger.debug({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error)?.message }, 'adapter redis command failed');
  };
  return {
    pub,
    sub,
    command,
    adapterPub: guard(pub, adapterError),
    adapterSub: guard(sub, adapterError),
    async close() {
      await Promise.all([closeRedis(pub), closeRedis(sub), closeRedis(command)]);
    },
  };
}
