// Silent sessions: clients that hold rooms and had messages for those rooms arrive at this
// gateway, yet were sent nothing for longer than a threshold — what a stuck client (a transport
// that carries nothing, a restore that never happened) looks like from the gateway. The cost is
// one timestamp per transport flush per socket and one per Redis message per room; the count is
// a sweep over the sockets when it is asked for (a /metrics scrape), never work per delivery.
import type { Namespace, Socket } from 'socket.io';

/** Default threshold: as long as a dashboard may stay silent after the cluster recovered. */
export const DEFAULT_SILENT_SESSION_MS = 30_000;

const kLastSent = Symbol('vigil.lastSent');

type WatchedSocket = Socket & { [kLastSent]?: number };

/** Starts recording when each client of `nsp` was last sent an event (pings do not count). */
export function watchDeliveries(nsp: Namespace): void {
  nsp.on('connection', (socket: WatchedSocket) => {
    socket[kLastSent] = Date.now();
    socket.conn.on('flush', (packets: Array<{ type: string }>) => {
      for (const p of packets) {
        if (p.type === 'message') {
          socket[kLastSent] = Date.now();
          return;
        }
      }
    });
  });
}

/**
 * Clients of `nsp` that hold a room for which a message arrived here (`roomHeardAt`, ms) more
 * than `thresholdMs` after the last event they were sent. Rooms with no traffic make no one
 * silent: a quiet server is not a stuck client.
 */
export function countSilentSessions(nsp: Namespace, roomHeardAt: (room: string) => number | undefined, thresholdMs: number): number {
  let silent = 0;
  for (const socket of nsp.sockets.values() as Iterable<WatchedSocket>) {
    const sent = socket[kLastSent];
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
