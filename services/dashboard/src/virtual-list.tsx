// A scrolling list of fixed-height rows that draws only what is on screen: a spacer gives the
// viewport the whole list's height, and the rows of the viewport plus OVERSCAN on each side are
// placed on it. Row elements are keyed by slot (virtual-window.ts), so scrolling reuses them.
// The row height comes from CSS (`--row-height` on the viewport), so a phone's cards can be taller.
import type { ComponentChildren, VNode } from 'preact';
import { useCallback, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { slotOf, visibleWindow } from './virtual-window.js';

export const OVERSCAN = 6;
const FALLBACK_ROW_HEIGHT = 44;

type Metrics = { rowHeight: number; viewportHeight: number; rowsTop: number };

type Props = {
  count: number;
  /** Drawn above the rows, inside the viewport (a sticky header). */
  header?: ComponentChildren;
  /** One row: place it with `style.transform` from `top`, key it with `slot`. */
  renderRow(index: number, slot: number, top: number): VNode;
  class?: string;
  label: string;
  /** Changes of this value scroll back to the top (a new sort or filter). */
  resetKey?: string;
};

function readRowHeight(el: HTMLElement): number {
  const value = Number.parseFloat(getComputedStyle(el).getPropertyValue('--row-height'));
  return Number.isFinite(value) && value > 0 ? value : FALLBACK_ROW_HEIGHT;
}

export function VirtualRows({ count, header, renderRow, class: className, label, resetKey }: Props) {
  const viewport = useRef<HTMLDivElement>(null);
  const spacer = useRef<HTMLDivElement>(null);
  // Measured on mount and on resize only (`rowsTop`: the header's height above the rows), and the
  // scroll offset kept from the scroll event: rendering reads no layout, so forces none.
  const [metrics, setMetrics] = useState<Metrics>({ rowHeight: FALLBACK_ROW_HEIGHT, viewportHeight: 800, rowsTop: 0 });
  const scrollTop = useRef(0);
  const latest = useRef({ count, metrics });
  latest.current = { count, metrics };
  // Renders on scroll only when the first row drawn changes, not for every pixel.
  const [, setStart] = useState(0);

  const onScroll = useCallback(() => {
    scrollTop.current = viewport.current?.scrollTop ?? 0;
    const { count, metrics } = latest.current;
    setStart(visibleWindow({ count, scrollTop: scrollTop.current - metrics.rowsTop, overscan: OVERSCAN, ...metrics }).start);
  }, []);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const measure = () => {
      const next = { rowHeight: readRowHeight(el), viewportHeight: el.clientHeight, rowsTop: spacer.current?.offsetTop ?? 0 };
      setMetrics((m) => (m.rowHeight === next.rowHeight && m.viewportHeight === next.viewportHeight && m.rowsTop === next.rowsTop ? m : next));
    };
    measure();
    // A resize, or crossing the phone breakpoint (another row height).
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (el && el.scrollTop > 0) el.scrollTop = 0;
    scrollTop.current = 0;
  }, [resetKey]);

  const w = visibleWindow({ count, scrollTop: scrollTop.current - metrics.rowsTop, overscan: OVERSCAN, ...metrics });
  // Children in slot order, not row order: as the window slides, each element keeps its place
  // among its siblings and only its content and offset change (no DOM moves). A window always
  // fills its slots (virtual-window.ts), so slot order is a permutation of the rows drawn.
  const rows: VNode[] = new Array(w.end - w.start);
  for (let i = w.start; i < w.end; i++) {
    const slot = slotOf(i, w.slots);
    rows[slot] = renderRow(i, slot, i * metrics.rowHeight);
  }

  return (
    <div ref={viewport} class={`vlist${className ? ` ${className}` : ''}`} role="table" aria-label={label} aria-rowcount={count + 1} onScroll={onScroll}>
      {header}
      <div ref={spacer} class="vlist-spacer" role="rowgroup" style={{ height: `${w.totalHeight}px` }} data-rows={count}>
        {rows}
      </div>
    </div>
  );
}
