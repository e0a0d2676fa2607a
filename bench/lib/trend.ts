// Does anything grow? The soak benchmark's verdict: per process identity (gw-1, redis, …) and
// metric, the samples of one process lifetime (one pid) after warm-up and after each restart has
// settled form a segment; a least-squares line through each segment gives its slope, projected to
// growth per 10 minutes and compared with the metric's limit.

export type Point = { t: number; v: number };

export type Fit = {
  n: number;
  fromS: number;
  toS: number;
  /** Units per second. */
  slope: number;
  /** Slope × 600 s: what the segment would grow by in 10 minutes. */
  per10min: number;
  /** Median of the last quarter minus median of the first quarter (what it actually did). */
  netChange: number;
  median: number;
  /** Standard deviation of the residuals: the noise around the line. */
  noiseSd: number;
  /** Standard error of the slope, projected to 10 minutes like per10min. */
  per10minSe: number;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export function fitLine(points: Point[]): Fit {
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mv = points.reduce((a, p) => a + p.v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.t - mt) * (p.v - mv);
    sxx += (p.t - mt) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const resid = points.map((p) => p.v - (mv + slope * (p.t - mt)));
  const q = Math.max(1, Math.floor(n / 4));
  const noiseSd = Math.sqrt(resid.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  return {
    n,
    fromS: points[0]!.t,
    toS: points[n - 1]!.t,
    slope,
    per10min: slope * 600,
    netChange: median(points.slice(-q).map((p) => p.v)) - median(points.slice(0, q).map((p) => p.v)),
    median: median(points.map((p) => p.v)),
    noiseSd,
    per10minSe: sxx === 0 ? 0 : (noiseSd / Math.sqrt(sxx)) * 600,
  };
}

/** A metric's growth limit per 10 minutes: an absolute floor, or a fraction of its level if larger. */
export type Limit = { floor: number; fraction: number; unit: string; why: string };

export type Verdict = Fit & { id: string; metric: Metric; pid: number; limit: number; grows: boolean };

export type Metric = 'rss' | 'fds' | 'heap' | 'handles' | 'connections' | 'fdsLessConns' | 'handlesLessConns' | 'usedMemory' | 'keys';
/** One reading of one process at `t` seconds; a metric is null when it could not be read (process down). */
export type Sample = { t: number; id: string; pid: number } & { [m in Metric]?: number | null };

/**
 * Segments of `metric` per identity: runs of samples with one pid, from `warmupS` on, leaving out
 * `settleS` after the pid first appears and after every event in `disturbances` (seconds).
 * Segments shorter than `minSpanS` or with fewer than `minSamples` points are not judged.
 */
export function judge(
  samples: Sample[],
  metric: Metric,
  limit: Limit,
  o: { warmupS: number; settleS: number; disturbances: number[]; minSpanS: number; minSamples: number },
): Verdict[] {
  const firstSeen = new Map<number, number>();
  for (const s of samples) if (!firstSeen.has(s.pid)) firstSeen.set(s.pid, s.t);
  const groups = new Map<string, Point[]>();
  for (const s of samples) {
    const v = s[metric];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (s.t < o.warmupS || s.t < firstSeen.get(s.pid)! + o.settleS) continue;
    if (o.disturbances.some((d) => s.t >= d && s.t < d + o.settleS)) continue;
    const key = `${s.id}\0${s.pid}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ t: s.t, v });
  }
  const out: Verdict[] = [];
  for (const [key, points] of groups) {
    if (points.length < o.minSamples || points.at(-1)!.t - points[0]!.t < o.minSpanS) continue;
    const [id, pid] = key.split('\0') as [string, string];
    const fit = fitLine(points);
    const lim = Math.max(limit.floor, limit.fraction * fit.median);
    // Grows: past the limit, and not by chance (the slope is more than three standard errors).
    out.push({ ...fit, id, metric, pid: Number(pid), limit: lim, grows: fit.per10min > lim && fit.per10min > 3 * fit.per10minSe });
  }
  return out;
}
