// The virtual list's arithmetic: which rows are drawn for a scroll position, and in which reused
// element each one lands.
import t from 'tap';
import { slotOf, visibleWindow } from '../src/virtual-window.js';

const base = { rowHeight: 40, viewportHeight: 400, overscan: 5 };

t.test('at the top: the rows in view plus the overscan below, never thousands', async (t) => {
  const w = visibleWindow({ ...base, count: 10_000, scrollTop: 0 });
  t.equal(w.start, 0);
  // 400 / 40 = 10 rows in view, +1 for a row cut in two, +2 × 5 overscan.
  t.equal(w.end - w.start, 21, 'about a screen of rows');
  t.equal(w.slots, 21);
  t.equal(w.totalHeight, 400_000, 'the spacer is as tall as all the rows');
});

t.test('in the middle: the window starts overscan rows above the first row in view', async (t) => {
  const w = visibleWindow({ ...base, count: 10_000, scrollTop: 40 * 5000 + 15 });
  t.equal(w.start, 4995);
  t.equal(w.end, 5016);
  t.ok(w.start * 40 <= 40 * 5000 + 15 && w.end * 40 >= 40 * 5000 + 15 + 400, 'the viewport lies inside the window');
});

t.test('at the end: the last row is drawn and the window keeps its size', async (t) => {
  const maxTop = 10_000 * 40 - 400;
  const w = visibleWindow({ ...base, count: 10_000, scrollTop: maxTop });
  t.equal(w.end, 10_000, 'the last row is in');
  t.equal(w.end - w.start, w.slots, 'as many rows as anywhere else');
  const past = visibleWindow({ ...base, count: 10_000, scrollTop: maxTop + 50_000 });
  t.same(past, w, 'a scroll offset left past the end (the list shrank) is clamped');
});

t.test('short lists, empty lists and odd input', async (t) => {
  t.same(visibleWindow({ ...base, count: 3, scrollTop: 0 }), { start: 0, end: 3, totalHeight: 120, slots: 3 }, 'all of a short list');
  t.same(visibleWindow({ ...base, count: 0, scrollTop: 100 }), { start: 0, end: 0, totalHeight: 0, slots: 0 }, 'nothing of an empty one');
  const w = visibleWindow({ count: 100, scrollTop: Number.NaN, viewportHeight: -5, rowHeight: 0, overscan: -2 });
  t.equal(w.start, 0, 'NaN scroll offset reads as the top');
  t.ok(w.end - w.start >= 1 && w.end <= 100, 'a bad height or overscan still draws a bounded window');
});

t.test('slots: rows of one window never share an element; a row scrolled out gives its element to the row scrolled in', async (t) => {
  for (const scrollTop of [0, 17, 400, 123_456, 399_600]) {
    const w = visibleWindow({ ...base, count: 10_000, scrollTop });
    const slots = new Set<number>();
    for (let i = w.start; i < w.end; i++) slots.add(slotOf(i, w.slots));
    t.equal(slots.size, w.slots, `at scrollTop ${scrollTop}: every slot holds one row, none two`);
  }
  const a = visibleWindow({ ...base, count: 10_000, scrollTop: 4000 });
  const b = visibleWindow({ ...base, count: 10_000, scrollTop: 4040 });
  t.equal(b.start, a.start + 1, 'one row further down');
  t.equal(slotOf(b.end - 1, b.slots), slotOf(a.start, a.slots), 'the row entering at the bottom reuses the element of the row that left at the top');
  const kept: number[] = [];
  for (let i = b.start; i < a.end; i++) if (slotOf(i, b.slots) === slotOf(i, a.slots)) kept.push(i);
  t.equal(kept.length, a.end - b.start, 'every row on screen before and after keeps its element');
});
