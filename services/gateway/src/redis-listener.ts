// What this gateway does with each message on its Redis subscriber connection besides the
// adapter's delivery: counts it (metrics) and lets log recovery see the first live lines after a
// reconnect. Also how a handler waits until its subscriptions are in effect.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Client } from './client.js';
import type { LogStore } from '@vigil/store';
import { withTimeout } from '@vigil/protocol/runtime';
import type { GatewayMetrics } from './metrics.js';
import { PubSubRecovery } from './pubsub-recovery.js';

const SYNC_TIMEOUT_MS = 2000;

/**
 * Commands on one connection run in order: once a PING on the subscriber connection is answered,
 * every (s)subscribe sent before it is in effect and every message published before it has been
 * received.
 */
export function subscriptionSync(sub: Redis): () => Promise<void> {
  return () => withTimeout(sub.ping().then(() => undefined), SYNC_TIMEOUT_MS, 'PING answer');
}

export function listenToRedis(
  sub: Redis,
  deps: { clients: () => Iterable<Client>; logs: LogStore; logger: Logger; metrics: GatewayMetrics; sync: () => Promise<void> },
): { close(): void } {
  const recovery = new PubSubRecovery(sub, deps.clients, deps.logs, deps.logger, deps.sync);
  const onMessage = (channel: Buffer, message: Buffer) => {
    const name = channel.toString();
    deps.metrics.onRedisMessage(name, message);
    recovery.observe(name, message);
  };
  sub.on('smessageBuffer', onMessage);
  return {
    close() {
      sub.off('smessageBuffer', onMessage);
      recovery.close();
    },
  };
}
