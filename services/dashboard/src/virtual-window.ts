// Which rows of a long list of fixed-height rows are drawn: those in the viewport plus a few on
// each side (overscan), so a list of ten thousand holds about a screen of rows in the DOM. Pure
// arithmetic, shared by the list component and its tests.

export type WindowInput = {
  /** Rows in the whole list. */
  count: number;
  /** The viewport's scroll offset, in px (clamped here: a list that shrank may leave it past the end). */
  scrollTop: number;
  /** The viewport's height, in px. */
  viewportHeight: number;
  /** Every row's height, in px (> 0). */
  rowHeight: number;
  /** Extra rows drawn above and below the viewport. */
  overscan: number;
};

export type RowWindow = {
  /** First row drawn (inclusive). */
  start: number;
  /** Past the last row drawn (exclusive); end - start = slots, wherever the viewport is. */
  end: number;
  /** Height of the spacer that gives the viewport the full list's scroll height. */
  totalHeight: number;
  /** How many row elements the list keeps: enough for any window of this viewport. */
  slots: number;
};

/** The rows to draw for one scroll position. */
export function visibleWindow({ count, scrollTop, viewportHeight, rowHeight, overscan }: WindowInput): RowWindow {
  const height = rowHeight > 0 ? rowHeight : 1;
  const rows = Math.max(0, Math.floor(count));
  const extra = Math.max(0, Math.floor(overscan));
  const inView = Math.ceil(Math.max(0, viewportHeight) / height) + 1;
  const slots = Math.min(rows, inView + 2 * extra);
  const totalHeight = rows * height;
  const maxTop = Math.max(0, totalHeight - Math.max(0, viewportHeight));
  const top = Math.min(Math.max(0, Number.isFinite(scrollTop) ? scrollTop : 0), maxTop);
  const first = Math.floor(top / height);
  let start = Math.max(0, first - extra);
  let end = Math.min(rows, start + slots);
  // Near the end, the window keeps its size by reaching further up.
  start = Math.max(0, end - slots);
  end = Math.min(rows, start + slots);
  return { start, end, totalHeight, slots };
}

/**
 * The element a row is drawn in: row `index` always lands in slot `index % slots`, so a row that
 * scrolls out at one end and the row that scrolls in at the other share an element, which is
 * reused rather than built again; within one window no two rows share a slot.
 */
export function slotOf(index: number, slots: number): number {
  return slots > 0 ? index % slots : 0;
}
