// When each target is due. Times are monotonic (performance.now()), so a wall-clock jump neither
// stalls nor floods sampling. Targets due within a few ms of each other share a tick: one
// pidusage call and one Redis round trip instead of two.
const COALESCE_MS = 15;

export class Schedule<T extends { intervalMs: number }> {
  readonly #next = new Map<T, number>();

  constructor(items: readonly T[], startAt: number) {
    for (const item of items) this.#next.set(item, startAt);
  }

  /** Items due at `now`. */
  due(now: number): T[] {
    const out: T[] = [];
    for (const [item, at] of this.#next) if (at <= now + COALESCE_MS) out.push(item);
    return out;
  }

  /** Moves each item to its next due time after `now`, skipping the ones a slow tick missed. */
  advance(items: readonly T[], now: number): void {
    for (const item of items) {
      let at = (this.#next.get(item) ?? now) + item.intervalMs;
      if (at <= now) at += Math.ceil((now - at + 1) / item.intervalMs) * item.intervalMs;
      this.#next.set(item, at);
    }
  }

  /** The earliest due time, or null when there is nothing to schedule. */
  nextAt(): number | null {
    let min: number | null = null;
    for (const at of this.#next.values()) if (min === null || at < min) min = at;
    return min;
  }
}
