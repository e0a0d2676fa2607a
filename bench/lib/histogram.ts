// A latency histogram with 0.1 ms buckets up to 10 s: cheap to record in a hot path, exact enough for
// percentiles, and small to ship between processes (only non-empty buckets travel).
const BUCKET_MS = 0.1;
const BUCKETS = 100_000;

export type SparseHistogram = { buckets: Array<[number, number]>; count: number; overflow: number; maxMs: number; sumMs: number };

export class Histogram {
  #counts = new Uint32Array(BUCKETS);
  count = 0;
  overflow = 0;
  maxMs = 0;
  sumMs = 0;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    this.count++;
    this.sumMs += v;
    if (v > this.maxMs) this.maxMs = v;
    const i = Math.floor(v / BUCKET_MS);
    if (i >= BUCKETS) this.overflow++;
    else this.#counts[i]!++;
  }

  reset(): void {
    this.#counts.fill(0);
    this.count = 0;
    this.overflow = 0;
    this.maxMs = 0;
    this.sumMs = 0;
  }

  toSparse(): SparseHistogram {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { buckets, count: this.count, overflow: this.overflow, maxMs: this.maxMs, sumMs: this.sumMs };
  }
}

export type LatencySummary = { count: number; p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };

/** Merges histograms from several processes and reads percentiles (upper edge of the bucket). */
export function summarize(parts: readonly SparseHistogram[]): LatencySummary {
  const merged = new Map<number, number>();
  let count = 0;
  let max = 0;
  let sum = 0;
  for (const p of parts) {
    for (const [i, n] of p.buckets) merged.set(i, (merged.get(i) ?? 0) + n);
    count += p.count;
    max = Math.max(max, p.maxMs);
    sum += p.sumMs;
  }
  if (count === 0) return { count, p50: null, p90: null, p99: null, max: null, mean: null };
  const sorted = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const at = (q: number): number => {
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (const [i, n] of sorted) {
      seen += n;
      if (seen >= rank) return round((i + 1) * BUCKET_MS);
    }
    // The rank falls among the overflowed values: all we know is the maximum.
    return round(max);
  };
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(max), mean: round(sum / count) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
