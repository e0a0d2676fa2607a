// match targets: one server per matching process, in stable slots. Slot 1 reports as the target
// id, slot k ≥ 2 as `<id>.<k>`. A process keeps its slot while it lives; when it is gone the slot's
// server exits; a newcomer fills the lowest free slot (`restarted` if that slot had a process
// before, else `running`). There are never more than maxInstances slots: further processes are
// counted, not silently folded into one.
import type { Observation } from './sampler.js';
import type { Resolution } from './source.js';
import { ServerState, keep, type ServerReport } from './server-state.js';
import type { Tracker, TrackResult } from './tracker.js';

export function slotServerId(targetId: string, slot: number): string {
  return slot === 1 ? targetId : `${targetId}.${slot}`;
}

export class SlotTracker implements Tracker {
  readonly #targetId: string;
  readonly #intervalMs: number;
  readonly #maxInstances: number;
  /** slots[k - 1] is slot k; created in order, so existing slots are always 1..n. */
  readonly #slots: ServerState[] = [];

  constructor(targetId: string, intervalMs: number, maxInstances: number) {
    this.#targetId = targetId;
    this.#intervalMs = intervalMs;
    this.#maxInstances = maxInstances;
    // The target always has its first server, so "nothing matches" is visible too.
    this.#slots.push(new ServerState(targetId, targetId, intervalMs));
  }

  observe(res: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult {
    const live = new Map<string, Observation>();
    for (const pid of res.pids) {
      const o = seen.get(pid);
      if (o) live.set(o.key, o);
    }
    const reports = new Map<ServerState, ServerReport>();
    for (const slot of this.#slots) {
      const o = slot.process ? live.get(slot.process.key) : undefined;
      if (o) {
        live.delete(o.key);
        reports.set(slot, keep(slot, o));
      } else if (slot.process || slot.status === null) {
        const reason = res.unresolved ?? (slot.process ? 'process exited or no longer matches' : 'no process matches');
        reports.set(slot, { server: slot, sample: null, change: slot.exit(reason) });
      }
    }
    // Oldest first, so that slots follow start order when several appear at once.
    const newcomers = [...live.values()].sort((a, b) => a.startKey - b.startKey || a.pid - b.pid);
    let extra = 0;
    for (const o of newcomers) {
      const slot = this.#freeSlot();
      if (!slot) {
        extra++;
        continue;
      }
      // A slot emptied and refilled in one tick reports only the refill (restarted, previousPid).
      reports.set(slot, { server: slot, sample: o, change: slot.adopt(o) });
    }
    return { reports: this.#slots.map((s) => reports.get(s) ?? { server: s, sample: null, change: null }), extra };
  }

  #freeSlot(): ServerState | null {
    const free = this.#slots.find((s) => s.process === null);
    if (free) return free;
    if (this.#slots.length >= this.#maxInstances) return null;
    const k = this.#slots.length + 1;
    const slot = new ServerState(slotServerId(this.#targetId, k), this.#targetId, this.#intervalMs);
    this.#slots.push(slot);
    return slot;
  }
}
