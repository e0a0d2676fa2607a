// A live line chart of one field of a sample series (a server's or a host's), drawn by uPlot. The plot is created once
// and fed new columns as the series grows; it follows its container's width.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { FieldOf, Point, PointSeries } from './sample-series.js';

const AXIS = '#9aa4b2';
const GRID = 'rgba(154, 164, 178, 0.14)';
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export type TimeChartProps<P extends Point> = {
  title: string;
  series: PointSeries<never, P>;
  field: FieldOf<P>;
  format: (value: number) => string;
  color: string;
  /** The smallest top of the y axis (5 % for CPU, so idle is not drawn as a mountain range). */
  minTop: number;
  /** Changes whenever the series did. */
  version: string;
  summary: string;
};

export function TimeChart<P extends Point>({ title, series, field, format, color, minTop, version, summary }: TimeChartProps<P>) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current!;
    const height = () => (el.clientWidth < 480 ? 150 : 190);
    const options: uPlot.Options = {
      width: Math.max(160, el.clientWidth),
      height: height(),
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(minTop, (max ?? 0) * 1.15)] },
      },
      axes: [
        { stroke: AXIS, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } },
        {
          stroke: AXIS,
          font: FONT,
          size: 64,
          grid: { stroke: GRID, width: 1 },
          ticks: { stroke: GRID, width: 1 },
          values: (_u, ticks) => ticks.map(format),
        },
      ],
      series: [{}, { label: title, stroke: color, width: 2, fill: `${color}22`, points: { show: false } }],
    };
    const chart = new uPlot(options, series.columns(field), el);
    plot.current = chart;
    let width = el.clientWidth;
    let frame = 0;
    // Resize on the next frame, and only when the width really changed (no observer loop).
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (el.clientWidth === width) return;
        width = el.clientWidth;
        chart.setSize({ width: Math.max(160, width), height: height() });
      });
    });
    observer.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The plot is made once per mount; data updates come through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    plot.current?.setData(series.columns(field));
  }, [version, series, field]);

  return (
    <figure class="chart" data-field={field} data-points={series.length}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="chart-value">{series.last ? format(series.last[field] as number) : '—'}</span>
      </figcaption>
      <div class="chart-plot" ref={host} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
