// subscribe-system-metrics / unsubscribe-system-metrics: join the room a host's collector
// broadcasts its host samples to, and send the latest sample from Redis at once. A token sees a
// host through its `hosts` globs (or admin); the room counts against the client's room limit.
import {
  ByHost,
  ClientEvents,
  DEFAULT_HOST_INTERVAL_MS,
  ErrorCodes,
  ServerEvents,
  SubscribeSystemMetrics,
  VigilError,
  comparePositions,
  compile,
  parseSystemMetricsRoom,
  systemMetricsRoom,
  type AckWarning,
  type Permissions,
  type ReplyOf,
  type SystemMetricsEvent,
} from '@vigil/protocol';
import { joinChecked, roomCount } from './client-rooms.js';
import type { Client } from './client.js';
import { OutgoingWatch } from './outgoing-watch.js';
import type { SocketContext } from './socket-context.js';

const subscribeV = compile(SubscribeSystemMetrics);
const byHostV = compile(ByHost);

export function registerSystemMetricsSubscriptions(ctx: SocketContext, leave: (room: string) => Promise<ReplyOf<'unsubscribe'>>): void {
  ctx.on(ClientEvents.subscribeSystemMetrics, subscribeV, (p) => subscribeSystemMetrics(ctx, p.host, p.interval));
  ctx.on(ClientEvents.unsubscribeSystemMetrics, byHostV, (p) => leave(systemMetricsRoom(p.host)));
}

async function subscribeSystemMetrics(ctx: SocketContext, host: string, interval: number | undefined): Promise<ReplyOf<'subscribe-system-metrics'>> {
  const { client, deps, log } = ctx;
  // The token first: a host outside it is FORBIDDEN whether or not it exists.
  if (!client.permissions.canSeeHost(host)) throw new VigilError(ErrorCodes.FORBIDDEN, `this token may not see host "${host}"`);
  const room = systemMetricsRoom(host);
  const held = client.rooms.has(room);
  if (!held && deps.isRegistered && !(await deps.hosts.known(host).catch(() => true))) {
    throw new VigilError(ErrorCodes.UNKNOWN_HOST, `no collector has sampled host "${host}"; subscribe once one runs there`);
  }
  if (!held && roomCount(client) + 1 > deps.limits.maxRooms) {
    throw new VigilError(ErrorCodes.TOO_MANY_ROOMS, `a client may hold at most ${deps.limits.maxRooms} rooms`);
  }
  // A live sample may arrive between joining and reading the latest one: send the latest only if
  // it is newer than anything already sent (never a duplicate, never backwards).
  const watch = new OutgoingWatch(client, ServerEvents.systemMetricsUpdate, host, 'host');
  let latest: SystemMetricsEvent | null = null;
  let warning: AckWarning | undefined;
  try {
    await joinChecked(client, deps, [room], () => {
      if (!client.permissions.canSeeHost(host)) throw new VigilError(ErrorCodes.FORBIDDEN, `this token may not see host "${host}"`);
    });
    try {
      latest = await deps.hosts.latest(host);
      if (latest && (watch.newest === null || comparePositions(latest.position, watch.newest) > 0)) {
        client.emit(ServerEvents.systemMetricsUpdate, latest);
      }
    } catch (err) {
      warning = { code: ErrorCodes.REDIS_UNAVAILABLE, message: 'subscribed, but the latest host sample could not be read now' };
      log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'latest host sample unavailable');
    }
  } finally {
    watch.stop();
  }
  const confirmation = { room, host, interval: interval ?? DEFAULT_HOST_INTERVAL_MS, timestamp: new Date().toISOString() };
  client.emit(ServerEvents.subscriptionConfirmed, confirmation);
  return { ...confirmation, latest: latest !== null, ...(warning ? { warning } : {}) };
}

/** Leaves the host rooms `permissions` does not allow (after a token refresh); the rooms left, as named. */
export async function leaveForbiddenHosts(client: Client, permissions: Permissions, leave: (room: string) => Promise<unknown>): Promise<string[]> {
  const left: string[] = [];
  for (const room of [...client.rooms]) {
    const host = parseSystemMetricsRoom(room);
    if (host === null || permissions.canSeeHost(host)) continue;
    await leave(room);
    left.push(room);
  }
  return left;
}
