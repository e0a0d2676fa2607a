// subscribe-server-logs / unsubscribe-server-logs. A subscriber at level L joins the rooms of L
// and above (each line is broadcast once, to its own level's room). With `since` or `backfill`
// it first gets history, with no gap and no duplicate at the seam with live lines:
//   join → PING the subscriber connection (our SSUBSCRIBE is in effect) → read history →
//   PING again (every live copy of a line in that history has been delivered) → send only
//   history older than the first live line this socket was sent.
// Live lines can therefore reach the socket before older replayed ones; every line carries its
// position, and the client library delivers them in order.
import {
  ByServer,
  BACKFILL_MAX,
  ClientEvents,
  DEFAULT_LOG_LEVEL,
  ErrorCodes,
  ServerEvents,
  SubscribeServerLogs,
  VigilError,
  comparePositions,
  compile,
  logsRoom,
  logsRoomsFrom,
  type ReplyOf,
  type SubscribeServerLogs as SubscribeLogsPayload,
} from '@vigil/protocol';
import type { LogPage } from '@vigil/store';
import { OutgoingWatch } from './outgoing-watch.js';
import { checkRoomLimit, heldLogRooms } from './client-rooms.js';
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

export async function subscribeLogs(ctx: SocketContext, p: SubscribeLogsPayload): Promise<ReplyOf<'subscribe-server-logs'>> {
  const { socket, deps, log } = ctx;
  requireSubscribe(socket, { kind: 'logs', serverId: p.serverId });
  if (p.since !== undefined && p.backfill !== undefined) {
    throw new VigilError(ErrorCodes.INVALID_PAYLOAD, `${ClientEvents.subscribeServerLogs}: give "since" or "backfill", not both`);
  }
  const level = p.level ?? DEFAULT_LOG_LEVEL;
  const wanted = logsRoomsFrom(p.serverId, level);
  const held = heldLogRooms(socket, p.serverId);
  checkRoomLimit(socket, held.length > 0, deps.limits.maxRooms);
  const replaying = p.since !== undefined || (p.backfill ?? 0) > 0;
  const watch = replaying ? new OutgoingWatch(socket, ServerEvents.processLogs, p.serverId) : null;
  let replayed = 0;
  let gap = false;
  let more = false;
  let next: string | undefined;
  let head: string | null = null;
  try {
    for (const room of held) if (!wanted.includes(room)) await socket.leave(room);
    await socket.join(wanted);
    if (replaying && watch) {
      let page: LogPage;
      try {
        await deps.syncSubscriptions();
        if (p.since !== undefined) {
          gap = await deps.logs.gapAfter(p.serverId, p.since);
          page = await deps.logs.page(p.serverId, { direction: 'forward', after: p.since, level, limit: BACKFILL_MAX }); // past it the ack says `more` and where to continue
        } else {
          page = await deps.logs.page(p.serverId, { direction: 'backward', level, limit: p.backfill ?? 0 });
        }
        await deps.syncSubscriptions();
      } catch (err) {
        // Without its history the subscription would silently miss lines: refuse it whole.
        for (const room of wanted) await socket.leave(room);
        log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'log history unavailable');
        throw new VigilError(ErrorCodes.REDIS_UNAVAILABLE, 'log history is unavailable now; subscribe again shortly');
      }
      // The first live line this socket was sent, per level room; stop watching before
      // replaying, which the watch would otherwise see too.
      const firstLive = new Map(watch.oldestByLevel);
      watch.stop();
      for (const line of page.items) {
        const live = firstLive.get(line.logData.level);
        if (live !== undefined && comparePositions(line.position, live) >= 0) continue; // sent live already
        socket.emit(ServerEvents.processLogs, line);
        replayed++;
      }
      // A full page: history goes on past it (lines there may not have come live on every level).
      if (p.since !== undefined && page.next !== null && page.items.length > 0) {
        more = true;
        next = page.items[page.items.length - 1]!.position;
      }
    }
    // Everything after `head` reaches this socket live: a client that has received nothing yet
    // can resume from there after a reconnect. Best effort: without it the client falls back.
    try {
      if (!replaying) await deps.syncSubscriptions();
      head = await deps.logs.head(p.serverId);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'log head unavailable');
    }
  } finally {
    watch?.stop();
  }
  const confirmation = { room: logsRoom(p.serverId), serverId: p.serverId, level, timestamp: new Date().toISOString() };
  socket.emit(ServerEvents.subscriptionConfirmed, confirmation);
  return { ...confirmation, replayed, gap, more, ...(next !== undefined ? { next } : {}), ...(head !== null ? { head } : {}) };
}
