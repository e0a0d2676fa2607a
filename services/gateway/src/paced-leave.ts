// Leaving rooms without stalling everyone. When a socket goes, Socket.IO removes it from all of
// its rooms at once, and each room left empty costs an SUNSUBSCRIBE on the sharded adapter
// (about 20 µs): 200 sockets × 256 rooms closing together held the event loop for a second.
// Here the socket's own room goes at once (as before) and its other rooms are left in slices of
// a few milliseconds, between which I/O and timers run. A room being left still lists the
// socket for a moment; broadcasts skip it (the namespace no longer has it), so nothing is sent.
import type { Namespace } from 'socket.io';

type Adapter = Namespace['adapter'];

type Pending = { id: string; rooms: string[]; next: number };
type AdapterInternals = { _del(room: string, id: string): void };

export type PacedLeaves = {
  /** Rooms still to be left. */
  readonly backlog: number;
  /** Leaves everything still pending now (on close). */
  flush(): void;
};

export function paceRoomLeaves(adapter: Adapter, sliceMs = 4): PacedLeaves {
  const queue: Pending[] = [];
  let backlog = 0;
  let scheduled: NodeJS.Immediate | null = null;
  const del = (adapter as unknown as AdapterInternals)._del.bind(adapter);

  const work = (budgetMs: number) => {
    scheduled = null;
    const until = performance.now() + budgetMs;
    let n = 0;
    while (queue.length > 0) {
      const p = queue[0]!;
      while (p.next < p.rooms.length) {
        del(p.rooms[p.next++]!, p.id);
        backlog--;
        // performance.now() is cheap, but not free: look at the clock every 32 rooms.
        if ((++n & 31) === 0 && performance.now() > until) {
          scheduled = setImmediate(work, sliceMs);
          return;
        }
      }
      queue.shift();
    }
  };

  adapter.delAll = (id: string) => {
    const rooms = adapter.sids.get(id);
    if (!rooms) return;
    // The socket's own room first, while the adapter still knows it as private (no Redis channel).
    if (rooms.has(id)) del(id, id);
    adapter.sids.delete(id);
    const rest = [...rooms].filter((r) => r !== id);
    if (rest.length === 0) return;
    queue.push({ id, rooms: rest, next: 0 });
    backlog += rest.length;
    scheduled ??= setImmediate(work, sliceMs);
  };

  return {
    get backlog() {
      return backlog;
    },
    flush() {
      if (scheduled) clearImmediate(scheduled);
      work(Number.POSITIVE_INFINITY);
    },
  };
}
