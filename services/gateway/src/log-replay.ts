// Log history for a subscriber (`since` or `backfill`), sent in pages that each wait for the
// socket to drain, so what a client asks for never sits in the gateway's memory at once: a
// paused reader holds one page, whatever it asked. A client that goes away stops its replay.
//
// The seam with live lines: the caller has joined the rooms, synced, read `until` (the newest
// line then), synced again, and passes `firstLive` (per level, the first line sent to this socket
// live). Every line after `until` comes live; a line at or after `firstLive` of its level came
// live already. So history is exactly the lines up to `until` older than `firstLive`.
//
// Replays take turns gateway-wide (one page read and sent at a time): ten clients asking for
// 10,000 lines each must not starve the live traffic of everyone else.
import { ServerEvents, comparePositions, type LogLevel, type ProcessLogsEvent } from '@vigil/protocol';
import type { LogStore } from '@vigil/store';
import type { InOrder } from '@vigil/protocol/runtime';
import { drained } from './slow-consumers.js';
import type { Client } from './client.js';

/** Lines per page (the store reads 500 at a time); a page is sent when the socket has at most `DRAIN_BELOW` bytes unsent. */
export const REPLAY_PAGE = 250;
export const DRAIN_BELOW = 64 * 1024;
/** Lines read per step while looking for where a backfill starts (read and dropped, never sent). */
const SCAN_PAGE = 500;

export type ReplayRequest = {
  serverId: string;
  level: LogLevel;
  until: string;
  firstLive: ReadonlyMap<string, string>;
} & ({ since: string; max: number } | { backfill: number });

export type ReplayResult = { replayed: number; more: boolean; next?: string; stopped: boolean };

export async function replayLogs(client: Client, logs: LogStore, r: ReplayRequest, turns: InOrder): Promise<ReplayResult> {
  const sentLive = (line: ProcessLogsEvent) => {
    const live = r.firstLive.get(line.logData.level);
    return live !== undefined && comparePositions(line.position, live) >= 0;
  };
  let replayed = 0;
  let after: string;
  let budget: number;
  if ('backfill' in r) {
    const start = await backfillStart(logs, r.serverId, r.level, r.until, r.backfill, turns);
    if (!start) return { replayed, more: false, stopped: false };
    if (!sentLive(start.line)) {
      client.emit(ServerEvents.processLogs, start.line);
      replayed++;
    }
    after = start.line.position;
    budget = start.count - 1;
  } else {
    after = r.since;
    budget = r.max;
  }
  while (budget > 0) {
    if (!(await drained(client, DRAIN_BELOW))) return { replayed, more: false, stopped: true };
    const page = await turns.run(() => logs.page(r.serverId, { direction: 'forward', after, level: r.level, limit: Math.min(REPLAY_PAGE, budget) }));
    if (!client.connected) return { replayed, more: false, stopped: true };
    for (const line of page.items) {
      if (comparePositions(line.position, r.until) > 0) return { replayed, more: false, stopped: false };
      if (!sentLive(line)) {
        client.emit(ServerEvents.processLogs, line);
        replayed++;
      }
      after = line.position;
      budget--;
    }
    if (page.items.length === 0 || page.next === null) return { replayed, more: false, stopped: false };
  }
  // `since` only: the budget ran out before `until`; the ack says where to continue.
  const more = 'since' in r && comparePositions(after, r.until) < 0;
  return { replayed, more, ...(more ? { next: after } : {}), stopped: false };
}

/** The oldest of the last `count` lines at `level` up to `until`, and how many there are from it. */
async function backfillStart(
  logs: LogStore,
  serverId: string,
  level: LogLevel,
  until: string,
  count: number,
  turns: InOrder,
): Promise<{ line: ProcessLogsEvent; count: number } | null> {
  let found = 0;
  let oldest: ProcessLogsEvent | null = null;
  let before: string | undefined;
  while (found < count) {
    const page = await turns.run(() =>
      logs.page(serverId, { direction: 'backward', level, limit: Math.min(SCAN_PAGE, count - found), ...(before !== undefined ? { before } : {}) }),
    );
    // Items are oldest first; lines newer than `until` (written since) come live.
    const items = before === undefined ? page.items.filter((l) => comparePositions(l.position, until) <= 0) : page.items;
    if (items.length > 0) {
      oldest = items[0]!;
      found += items.length;
    }
    if (page.items.length === 0 || page.next === null) break;
    before = page.items[0]!.position;
  }
  return oldest ? { line: oldest, count: found } : null;
}
