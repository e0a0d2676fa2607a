// The CPU trend of each row of the fleet list, built from the fleet updates themselves (a row's
// cpu each time its sample position moves on), so the list needs no subscription and no history
// read per server. Bounded twice: SPARK_POINTS per row, in typed arrays (about 0.7 KB a row), and
// SPARK_ROWS rows, the least recently updated let go first.
import { positionTime } from '@vigil/protocol';

/** Points kept per row. */
export const SPARK_POINTS = 60;
/** Rows that keep a trend; past it the row updated longest ago loses its trend. */
export const SPARK_ROWS = 12_000;

export type SparkPoint = { time: number; cpu: number };

/** The trend-relevant part of a fleet row. */
export type SparkInput = { id: string; cpu: number | null; position: string | null };

class Ring {
  readonly times: Float64Array;
  readonly cpus: Float32Array;
  head = 0;
  length = 0;
  lastPosition = '';
  lastTime = -Infinity;

  constructor(capacity: number) {
    this.times = new Float64Array(capacity);
    this.cpus = new Float32Array(capacity);
  }

  push(time: number, cpu: number): void {
    const capacity = this.times.length;
    const at = (this.head + this.length) % capacity;
    this.times[at] = time;
    this.cpus[at] = cpu;
    if (this.length < capacity) this.length++;
    else this.head = (this.head + 1) % capacity;
  }
}

function timeOf(position: string): number | null {
  try {
    return positionTime(position) / 1000;
  } catch {
    return null;
  }
}

export class SparkStore {
  readonly points: number;
  readonly maxRows: number;
  // Map order is recency: a row touched is moved to the end, the first is the one to let go.
  readonly #rings = new Map<string, Ring>();

  constructor(points = SPARK_POINTS, maxRows = SPARK_ROWS) {
    this.points = Math.max(2, points);
    this.maxRows = Math.max(1, maxRows);
  }

  get size(): number {
    return this.#rings.size;
  }

  /** Takes the row's cpu as a point when its sample is newer than the last one taken; says whether it did. */
  record(row: SparkInput): boolean {
    if (row.cpu === null || !Number.isFinite(row.cpu) || row.position === null) return false;
    let ring = this.#rings.get(row.id);
    if (ring && ring.lastPosition === row.position) return false;
    const time = timeOf(row.position);
    if (time === null) return false;
    if (ring) {
      // An older sample (a snapshot after a reconnect repeating the latest) adds nothing.
      if (time < ring.lastTime) return false;
      this.#rings.delete(row.id);
    } else {
      ring = new Ring(this.points);
      if (this.#rings.size >= this.maxRows) {
        const oldest = this.#rings.keys().next().value;
        if (oldest !== undefined) this.#rings.delete(oldest);
      }
    }
    this.#rings.set(row.id, ring);
    ring.lastPosition = row.position;
    ring.lastTime = time;
    ring.push(time, row.cpu);
    return true;
  }

  /** The row's points, oldest first (a new array: for the rows on screen only). */
  pointsOf(id: string): SparkPoint[] {
    const ring = this.#rings.get(id);
    if (!ring) return [];
    const out: SparkPoint[] = new Array(ring.length);
    const capacity = ring.times.length;
    for (let i = 0; i < ring.length; i++) {
      const at = (ring.head + i) % capacity;
      out[i] = { time: ring.times[at]!, cpu: ring.cpus[at]! };
    }
    return out;
  }

  /** Changes whenever the row's trend gains a point (the last sample's position; '' for none). */
  stampOf(id: string): string {
    return this.#rings.get(id)?.lastPosition ?? '';
  }

  countOf(id: string): number {
    return this.#rings.get(id)?.length ?? 0;
  }

  forget(id: string): void {
    this.#rings.delete(id);
  }

  /** Lets go of every row `keep` says no to. */
  retain(keep: (id: string) => boolean): void {
    for (const id of [...this.#rings.keys()]) if (!keep(id)) this.#rings.delete(id);
  }
}
