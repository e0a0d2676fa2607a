// When each target is due. Times are monotonic (performance.now()), so a wall-clock jump neither
// stalls nor floods sampling. Targets due within a few ms of each other share a tick: one
// pidusage call and one Redis round trip instead of two. Each item keeps its own interval, which
// viewers may change while it runs (interest-reader.ts): changing one item never moves another.
const COALESCE_MS = 15;

type Slot<T> = { item: T; intervalMs: number; next: number; last: number | null };

export class Schedule<T extends { intervalMs: number }> {
  readonly #slots = new Map<T, Slot<T>>();

  constructor(items: readonly T[], startAt: number) {
    for (const item of items) this.#slots.set(item, { item, intervalMs: item.intervalMs, next: startAt, last: null });
  }

  /** Items due at `now`. */
  due(now: number): T[] {
    const out: T[] = [];
    // Over the values: entries would make an array per item per tick.
    for (const slot of this.#slots.values()) if (slot.next <= now + COALESCE_MS) out.push(slot.item);
    return out;
  }

  /** Moves each item to its next due time after `now`, skipping the ones a slow tick missed. */
  advance(items: readonly T[], now: number): void {
    for (const item of items) {
      const slot = this.#slots.get(item);
      if (!slot) continue;
      const every = slot.intervalMs;
      let at = slot.next + every;
      if (at <= now) at += Math.ceil((now - at + 1) / every) * every;
      slot.last = slot.next;
      slot.next = at;
    }
  }

  /** The interval an item is sampled at now. */
  intervalOf(item: T): number | undefined {
    return this.#slots.get(item)?.intervalMs;
  }

  /**
   * Samples `item` every `intervalMs` from now on. Its next time is one new interval after its
   * last one (at once if that has passed): going faster takes effect now, going slower from the
   * sample already taken. True when its next time moved.
   */
  setInterval(item: T, intervalMs: number, now: number): boolean {
    const slot = this.#slots.get(item);
    if (!slot || slot.intervalMs === intervalMs) return false;
    slot.intervalMs = intervalMs;
    if (slot.last === null) return false; // not sampled yet: it is due at the start anyway
    // Due now (its sample may be in the tick running): advance() counts the new interval from it.
    if (slot.next <= now) return false;
    const next = Math.max(now, slot.last + intervalMs);
    if (next === slot.next) return false;
    slot.next = next;
    return true;
  }

  /** The earliest due time, or null when there is nothing to schedule. */
  nextAt(): number | null {
    let min: number | null = null;
    for (const slot of this.#slots.values()) if (min === null || slot.next < min) min = slot.next;
    return min;
  }
}
