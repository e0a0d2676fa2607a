// A Prometheus histogram by `kind` that costs a few additions per observation: the gateway observes
// one per Redis message, and prom-client's Histogram hashes its labels and looks its bucket up by a
// string key on every observe (about 2 µs, as much as several deliveries' worth of the gateway's
// own work). Series are bound once per kind; the text exposition is built only when scraped, in
// the same shape as prom-client's (cumulative `_bucket{le}`, `+Inf`, `_sum`, `_count`).
import type { Histogram, Registry } from 'prom-client';

export class LagSeries {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

type Value = { value: number; labels: Record<string, string | number>; metricName: string };

export class LagHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, LagSeries>();

  constructor(o: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = o.name;
    this.help = o.help;
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
    // The registry asks only for name, help, type, aggregator, get() and reset(); it has no type for
    // a metric that is not one of prom-client's own classes.
    for (const r of o.registers) r.registerMetric(this as unknown as Histogram);
  }

  /** The series of one `kind`, made on first use and kept (kinds are a handful). */
  series(kind: string): LagSeries {
    let s = this.#series.get(kind);
    if (!s) this.#series.set(kind, (s = new LagSeries(this.#bounds)));
    return s;
  }

  reset(): void {
    for (const s of this.#series.values()) s.reset();
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] }> {
    const values: Value[] = [];
    for (const [kind, s] of this.#series) {
      if (s.count === 0) continue; // as prom-client: a series appears once observed
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ value: cumulative, labels: { le, kind }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', kind }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { kind }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { kind }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
