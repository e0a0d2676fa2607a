// subscribe-server-logs / unsubscribe-server-logs. A subscriber at level L joins the rooms of L
// and above (each line is broadcast once, to its own level's room). With `since` or `backfill`
// it first gets history, with no gap and no duplicate at the seam with live lines:
//   join → PING the subscriber connection (our SSUBSCRIBE is in effect) → read the newest
//   position (`until`) → PING again (every live copy of a line up to `until` has been
//   delivered) → send history up to `until`, only lines older than the first live line this
//   socket was sent.
// Live lines can therefore reach the socket before older replayed ones; every line carries its
// position, and the client library delivers them in order. History goes out in pages that wait
// for the socket to drain, at most BACKFILL_MAX lines per subscribe (log-replay.ts).
import {
  ByServer,
  BACKFILL_MAX,
  ClientEvents,
  DEFAULT_LOG_LEVEL,
  ErrorCodes,
  ServerEvents,
  SubscribeServerLogs,
  VigilError,
  compile,
  logsRoom,
  logsRoomsFrom,
  type ReplyOf,
  type SubscribeServerLogs as SubscribeLogsPayload,
} from '@vigil/protocol';
import { OutgoingWatch } from './outgoing-watch.js';
import { checkSubscription, heldLogRooms, joinChecked } from './client-rooms.js';
import { replayLogs, type ReplayResult } from './log-replay.js';
import { requireSubscribe } from './auth/socket-auth.js';
import type { SocketContext } from './socket-context.js';

const subscribeV = compile(SubscribeServerLogs);
const byServerV = compile(ByServer);

export function registerLogSubscriptions(ctx: SocketContext, leave: (room: string) => Promise<ReplyOf<'unsubscribe'>>): void {
  const { on } = ctx;

  on(ClientEvents.subscribeServerLogs, subscribeV, async (p) => {
    const result = await subscribeLogs(ctx, p);
    ctx.saveSession();
    return result;
  });

  on(ClientEvents.unsubscribeServerLogs, byServerV, (p) => leave(logsRoom(p.serverId)));
}

/** `restoring`: a room of the client's own session, given back on reconnect. */
export async function subscribeLogs(ctx: SocketContext, p: SubscribeLogsPayload, restoring = false): Promise<ReplyOf<'subscribe-server-logs'>> {
  const { client, deps, log } = ctx;
  requireSubscribe(client, { kind: 'logs', serverId: p.serverId });
  if (p.since !== undefined && p.backfill !== undefined) {
    throw new VigilError(ErrorCodes.INVALID_PAYLOAD, `${ClientEvents.subscribeServerLogs}: give "since" or "backfill", not both`);
  }
  const level = p.level ?? DEFAULT_LOG_LEVEL;
  const wanted = logsRoomsFrom(p.serverId, level);
  const held = heldLogRooms(client, p.serverId);
  await checkSubscription(client, deps, p.serverId, wanted.filter((r) => !held.includes(r)).length - held.filter((r) => !wanted.includes(r)).length, restoring || held.length > 0);
  const replaying = p.since !== undefined || (p.backfill ?? 0) > 0;
  const watch = replaying ? new OutgoingWatch(client, ServerEvents.processLogs, p.serverId) : null;
  let result: ReplayResult = { replayed: 0, more: false, stopped: false };
  let gap = false;
  let head: string | null = null;
  try {
    for (const room of held) if (!wanted.includes(room)) await client.leave(room);
    await joinChecked(client, deps, wanted, () => requireSubscribe(client, { kind: 'logs', serverId: p.serverId }));
    if (replaying && watch) {
      let until: string | null;
      try {
        await deps.syncSubscriptions();
        if (p.since !== undefined) gap = await deps.logs.gapAfter(p.serverId, p.since);
        until = await deps.logs.head(p.serverId);
        await deps.syncSubscriptions();
        head = until;
      } catch (err) {
        throw await historyUnavailable(ctx, wanted, err);
      }
      // The first live line this socket was sent, per level room; stop watching before
      // replaying, which the watch would otherwise see too.
      const firstLive = new Map(watch.oldestByLevel);
      watch.stop();
      if (until !== null) {
        const base = { serverId: p.serverId, level, until, firstLive };
        try {
          const request = p.since !== undefined ? { ...base, since: p.since, max: BACKFILL_MAX } : { ...base, backfill: p.backfill ?? 0 };
          result = await replayLogs(client, deps.logs, request, deps.replays);
        } catch (err) {
          throw await historyUnavailable(ctx, wanted, err);
        }
      }
    } else {
      // Everything after `head` reaches this socket live: a client that has received nothing yet
      // can resume from there after a reconnect. Best effort: without it the client falls back.
      try {
        await deps.syncSubscriptions();
        head = await deps.logs.head(p.serverId);
      } catch (err) {
        log.debug({ err: (err as Error).message }, 'log head unavailable');
      }
    }
  } finally {
    watch?.stop();
  }
  if (result.stopped) log.debug({ serverId: p.serverId, replayed: result.replayed }, 'replay stopped: the client left');
  const confirmation = { room: logsRoom(p.serverId), serverId: p.serverId, level, timestamp: new Date().toISOString() };
  client.emit(ServerEvents.subscriptionConfirmed, confirmation);
  const { replayed, more, next } = result;
  return { ...confirmation, replayed, gap, more, ...(next !== undefined ? { next } : {}), ...(head !== null ? { head } : {}) };
}

/** Without its history the subscription would silently miss lines: refuse it whole. */
async function historyUnavailable(ctx: SocketContext, rooms: string[], err: unknown): Promise<VigilError> {
  for (const room of rooms) await ctx.client.leave(room);
  ctx.log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'log history unavailable');
  return new VigilError(ErrorCodes.REDIS_UNAVAILABLE, 'log history is unavailable now; subscribe again shortly');
}
