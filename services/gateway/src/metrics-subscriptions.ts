// subscribe-server-metrics / unsubscribe-server-metrics: join the room collectors broadcast to,
// and send what a (re)subscribing client needs from Redis: the latest sample and any status
// other than running.
import {
  ByServer,
  ClientEvents,
  ErrorCodes,
  ServerEvents,
  SubscribeServerMetrics,
  comparePositions,
  compile,
  effectiveInterval,
  metricsRoom,
  type AckWarning,
  type ProcessInfoEvent,
  type ReplyOf,
  type SubscribeServerMetrics as SubscribeMetricsPayload,
} from '@vigil/protocol';
import { OutgoingWatch } from './outgoing-watch.js';
import { checkSubscription, joinChecked } from './client-rooms.js';
import { requireSubscribe } from './auth/socket-auth.js';
import type { SocketContext } from './socket-context.js';
import type { TargetInfo } from './interest.js';

const subscribeV = compile(SubscribeServerMetrics);
const byServerV = compile(ByServer);

export function registerMetricsSubscriptions(ctx: SocketContext, leave: (room: string) => Promise<ReplyOf<'unsubscribe'>>): void {
  const { on } = ctx;

  on(ClientEvents.subscribeServerMetrics, subscribeV, async (p) => {
    const result = await subscribeMetrics(ctx, p);
    ctx.saveSession();
    return result;
  });

  on(ClientEvents.unsubscribeServerMetrics, byServerV, (p) => leave(metricsRoom(p.serverId)));
}

/** `restoring`: a room of the client's own session, given back on reconnect. */
export async function subscribeMetrics(ctx: SocketContext, p: SubscribeMetricsPayload, restoring = false): Promise<ReplyOf<'subscribe-server-metrics'>> {
  const { client, deps, log } = ctx;
  requireSubscribe(client, { kind: 'metrics', serverId: p.serverId });
  const room = metricsRoom(p.serverId);
  const held = client.rooms.has(room);
  await checkSubscription(client, deps, p.serverId, held ? 0 : 1, restoring || held);
  // A live sample may arrive between joining and reading the latest one: send the latest only
  // if it is newer than anything already sent (never a duplicate, never backwards).
  const watch = new OutgoingWatch(client, ServerEvents.processInfo, p.serverId);
  // The room may tell this client a status while it reads (the sweeper, or another subscriber's
  // announceStale): the status it last heard so is not sent to it again by this subscribe.
  let heard: unknown;
  const stopHeard = client.watchOutgoing((event, data) => {
    const sent = data as { serverId?: unknown; status?: unknown } | undefined;
    if (event === ServerEvents.serverStatusChanged && sent?.serverId === p.serverId) heard = sent.status;
  });
  let latest: ProcessInfoEvent | null = null;
  let target: TargetInfo | null = null;
  let warning: AckWarning | undefined;
  try {
    await joinChecked(client, deps, [room], () => requireSubscribe(client, { kind: 'metrics', serverId: p.serverId }));
    try {
      const view = await deps.store.get(p.serverId);
      target = view;
      latest = view?.latest ?? null;
      if (latest && (watch.newest === null || comparePositions(latest.position, watch.newest) > 0)) {
        client.emit(ServerEvents.processInfo, latest);
      }
      // A stale server found here may not have been swept yet: the sweeper then tells the whole
      // room (this client with it) and not again later, so no client hears it twice.
      const announced = view?.status === 'stale' && deps.staleness?.announceStale(p.serverId) === true;
      if (view && view.status !== 'running' && !announced && heard !== view.status) {
        client.emit(ServerEvents.serverStatusChanged, {
          serverId: p.serverId,
          status: view.status,
          timestamp: new Date().toISOString(),
          pid: view.pid,
          position: null,
        });
      }
    } catch (err) {
      warning = { code: ErrorCodes.REDIS_UNAVAILABLE, message: 'subscribed, but the latest sample could not be read now' };
      log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'latest sample unavailable');
    }
  } finally {
    watch.stop();
    stopHeard();
  }
  // The interval this client's samples come at (interval.ts); asking faster counts while it holds the room.
  deps.interest?.ask(client, p.serverId, p.interval, target);
  const interval = effectiveInterval(p.interval, target);
  const confirmation = { room, serverId: p.serverId, interval, timestamp: new Date().toISOString() };
  client.emit(ServerEvents.subscriptionConfirmed, confirmation);
  return { ...confirmation, latest: latest !== null, ...(warning ? { warning } : {}) };
}
