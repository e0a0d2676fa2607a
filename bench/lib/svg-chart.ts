// A small SVG line chart, written by hand (no plotting dependency): panels stacked vertically, one
// line per series, vertical marks for events (restarts), axes with a few round ticks.

export type Series = { name: string; points: Array<{ t: number; v: number | null }> };
export type Panel = { title: string; unit: string; scale?: number; series: Series[] };
export type Mark = { t: number; label: string };

const W = 900;
const PH = 220;
const M = { left: 70, right: 170, top: 28, bottom: 30 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

function panel(p: Panel, y0: number, tMax: number, marks: Mark[]): string {
  const scale = p.scale ?? 1;
  const vals = p.series.flatMap((s) => s.points.map((q) => (q.v === null ? null : q.v / scale))).filter((v): v is number => v !== null);
  const hi = vals.length ? Math.max(...vals) : 1;
  const step = niceStep(hi || 1, 4);
  const vMax = Math.ceil((hi || 1) / step) * step;
  const w = W - M.left - M.right;
  const h = PH - M.top - M.bottom;
  const x = (t: number) => M.left + (t / (tMax || 1)) * w;
  const y = (v: number) => y0 + M.top + h - (v / vMax) * h;
  const out: string[] = [];
  out.push(`<text x="${M.left}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`);
  for (let v = 0; v <= vMax + 1e-9; v += step) {
    out.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${+v.toPrecision(4)}</text>`);
  }
  const tStep = niceStep(tMax / 60 || 1, 10) * 60;
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    out.push(`<text x="${x(t)}" y="${y0 + PH - 10}" font-size="11" text-anchor="middle">${+(t / 60).toFixed(1)} min</text>`);
  }
  for (const m of marks) out.push(`<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${y0 + M.top}" y2="${y0 + M.top + h}" stroke="#999" stroke-dasharray="3,3"><title>${esc(m.label)}</title></line>`);
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    // A null value (the process was down) breaks the line.
    let d = '';
    let pen = false;
    for (const q of s.points) {
      if (q.v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(q.t).toFixed(1)},${y(q.v / scale).toFixed(1)} `;
      pen = true;
    }
    out.push(`<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ly = y0 + M.top + 14 * i + 6;
    out.push(`<line x1="${M.left + w + 10}" x2="${M.left + w + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${M.left + w + 35}" y="${ly + 4}" font-size="11">${esc(s.name)}</text>`);
  });
  out.push(`<rect x="${M.left}" y="${y0 + M.top}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  return out.join('\n');
}

/** The whole chart: one panel per metric, dashed lines at the marks (hover shows what happened). */
export function lineChart(title: string, panels: Panel[], marks: Mark[]): string {
  const tMax = Math.max(1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.t))));
  const height = 30 + panels.length * PH;
  const body = panels.map((p, i) => panel(p, 30 + i * PH, tMax, marks)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.left}" y="20" font-size="15">${esc(title)}</text>
${body}
</svg>
`;
}
