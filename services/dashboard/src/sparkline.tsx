// A tiny SVG line of recent CPU samples: cheap enough for one per row of a long list.
import { formatPercent } from './format.js';

const W = 100;
const H = 24;

/** Time in any unit that grows with the samples; cpu in percent. */
export type TrendPoint = { time: number; cpu: number };

export function Sparkline({ points, label }: { points: readonly TrendPoint[]; label: string }) {
  if (points.length < 2) {
    return (
      <svg class="sparkline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}: not enough samples yet`} data-points={points.length}>
        <line x1="0" y1={H - 1} x2={W} y2={H - 1} class="sparkline-empty" />
      </svg>
    );
  }
  let peak = 0;
  for (const p of points) if (p.cpu > peak) peak = p.cpu;
  const max = Math.max(1, peak);
  const t0 = points[0]!.time;
  const span = Math.max(1e-9, points[points.length - 1]!.time - t0);
  let path = '';
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    path += `${i === 0 ? 'M' : 'L'}${(((p.time - t0) / span) * W).toFixed(2)},${(H - 1 - (p.cpu / max) * (H - 2)).toFixed(2)}`;
  }
  const first = points[0]!.cpu;
  const last = points[points.length - 1]!.cpu;
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`${label}: ${points.length} samples, from ${formatPercent(first)} to ${formatPercent(last)}, peak ${formatPercent(peak)}`}
      data-points={points.length}
    >
      <path d={`${path}L${W},${H}L0,${H}Z`} class="sparkline-area" />
      <path d={path} class="sparkline-line" vector-effect="non-scaling-stroke" />
    </svg>
  );
}
