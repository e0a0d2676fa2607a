// Silent sessions: clients that hold rooms and had messages for those rooms arrive at this
// gateway, yet were sent nothing for longer than a threshold — what a stuck client (a transport
// that carries nothing, a restore that never happened) looks like from the gateway. Such a client
// has packets waiting in its engine queue, or it would have been sent them: so a client is counted
// from the last time it had nothing queued, which the slow-consumer sweep notes a few times a
// second when it measures each connection (slow-consumers.ts), and the count checks again when asked. The cost is one timestamp per
// Redis message per room (metrics.ts) and nothing per delivery; the count is a sweep over the
// sockets when it is asked for (a /metrics scrape).
import type { Namespace, Socket } from 'socket.io';
import { caughtUpAt, nothingQueued } from '../slow-consumers.js';

/** Default threshold: as long as a dashboard may stay silent after the cluster recovered. */
export const DEFAULT_SILENT_SESSION_MS = 30_000;

const kConnectedAt = Symbol('vigil.connectedAt');

type WatchedSocket = Socket & { [kConnectedAt]?: number };

/** Starts recording when each client of `nsp` connected: nothing was due to it before. */
export function watchDeliveries(nsp: Namespace): void {
  nsp.on('connection', (socket: WatchedSocket) => {
    socket[kConnectedAt] = Date.now();
  });
}

/** The last time `socket` had been sent everything due to it (ms), as far as is known. */
function lastCaughtUp(socket: WatchedSocket, now: number): number | undefined {
  if (nothingQueued(socket.conn)) return now;
  const connected = socket[kConnectedAt];
  const swept = caughtUpAt(socket.conn);
  return connected === undefined ? swept : swept === undefined ? connected : Math.max(connected, swept);
}

/**
 * Clients of `nsp` that hold a room for which a message arrived here (`roomHeardAt`, ms) more
 * than `thresholdMs` after they were last seen with nothing left to send them. Rooms with no traffic make no one
 * silent: a quiet server is not a stuck client.
 */
export function countSilentSessions(nsp: Namespace, roomHeardAt: (room: string) => number | undefined, thresholdMs: number): number {
  let silent = 0;
  const now = Date.now();
  for (const socket of nsp.sockets.values() as Iterable<WatchedSocket>) {
    const sent = lastCaughtUp(socket, now);
    if (sent === undefined || socket.rooms.size < 2) continue; // its own room only
    for (const room of socket.rooms) {
      const heard = roomHeardAt(room);
      if (heard !== undefined && heard - sent > thresholdMs) {
        silent++;
        break;
      }
    }
  }
  return silent;
}
