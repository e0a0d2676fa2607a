// The schedule on its own, with a hand-driven clock: each target keeps its own interval, which
// viewers may change while it runs, and a change to one target never moves another.
import t from 'tap';
import { Schedule } from '../src/schedule.js';

type Item = { id: string; intervalMs: number };
const ids = (items: Item[]) => items.map((i) => i.id).sort();

/** Runs the schedule from `from` to `to` as the collector does (tick at nextAt, advance after); returns ticks per item. */
function drive(s: Schedule<Item>, from: number, to: number): { ticks: Map<string, number>; now: number } {
  const ticks = new Map<string, number>();
  let now = from;
  for (let guard = 0; guard < 100_000; guard++) {
    const at = s.nextAt()!;
    if (at > to) break;
    now = Math.max(now, at);
    const due = s.due(now);
    for (const d of due) ticks.set(d.id, (ticks.get(d.id) ?? 0) + 1);
    s.advance(due, now);
  }
  return { ticks, now };
}

t.test('every item is due at the start, then at its own interval', async (t) => {
  const a = { id: 'a', intervalMs: 1000 };
  const b = { id: 'b', intervalMs: 5000 };
  const s = new Schedule([a, b], 0);
  t.same(ids(s.due(0)), ['a', 'b']);
  const { ticks } = drive(s, 0, 10_000);
  t.equal(ticks.get('a'), 11, 'a: 0, 1000, …, 10000');
  t.equal(ticks.get('b'), 3, 'b: 0, 5000, 10000');
});

t.test('going faster takes effect at once; the other items keep their times', async (t) => {
  const a = { id: 'a', intervalMs: 5000 };
  const b = { id: 'b', intervalMs: 5000 };
  const s = new Schedule([a, b], 0);
  s.advance(s.due(0), 0); // both sampled at 0, next at 5000
  t.equal(s.nextAt(), 5000);
  t.ok(s.setInterval(a, 500, 2000), 'a moved');
  t.equal(s.intervalOf(a), 500);
  t.equal(s.nextAt(), 2000, 'a is due now: its last sample is more than 500 ms ago');
  t.same(ids(s.due(2000)), ['a'], 'b is not pulled in');
  const { ticks } = drive(s, 2000, 4990);
  t.equal(ticks.get('a'), 6, 'a every 500 ms: 2000, 2500, …, 4500');
  t.equal(ticks.get('b'), undefined, 'b not sampled before its own time');
  t.equal(s.intervalOf(b), 5000);
});

t.test('going faster from a recent sample waits one new interval after it', async (t) => {
  const a = { id: 'a', intervalMs: 5000 };
  const s = new Schedule([a], 0);
  s.advance(s.due(0), 0);
  t.ok(s.setInterval(a, 1000, 300));
  t.equal(s.nextAt(), 1000, 'one second after the last sample, not at once');
});

t.test('going slower counts from the last sample; an unchanged interval moves nothing', async (t) => {
  const a = { id: 'a', intervalMs: 5000 };
  const s = new Schedule([a], 0);
  s.advance(s.due(0), 0);
  s.setInterval(a, 500, 100);
  drive(s, 100, 2000); // sampled at 500, 1000, 1500, 2000
  t.notOk(s.setInterval(a, 500, 2100), 'same interval: nothing moves');
  t.ok(s.setInterval(a, 5000, 2100), 'back to 5 s');
  t.equal(s.nextAt(), 7000, 'five seconds after the last sample (2000)');
});

t.test('a slow tick skips the missed times instead of catching up', async (t) => {
  const a = { id: 'a', intervalMs: 100 };
  const s = new Schedule([a], 0);
  s.advance(s.due(0), 1050); // the tick at 0 ended at 1050
  t.equal(s.nextAt(), 1100, 'the next time after now, on the same grid');
});

t.test('before the first sample a new interval only changes what follows it', async (t) => {
  const a = { id: 'a', intervalMs: 5000 };
  const s = new Schedule([a], 0);
  t.notOk(s.setInterval(a, 1000, 0), 'still due at the start');
  t.same(ids(s.due(0)), ['a']);
  s.advance(s.due(0), 0);
  t.equal(s.nextAt(), 1000);
});

t.test('going slower while its sample is being taken counts from that sample', async (t) => {
  const a = { id: 'a', intervalMs: 1000 };
  const s = new Schedule([a], 0);
  drive(s, 0, 9000); // sampled every second up to 9000; due again at 10000
  const due = s.due(10_000); // the tick at 10000 takes a's sample…
  t.same(ids(due), ['a']);
  t.notOk(s.setInterval(a, 5000, 10_100), '…while the viewers slow it down: nothing moves before the tick ends');
  s.advance(due, 10_200);
  t.equal(s.nextAt(), 15_000, 'five seconds after the sample taken at 10000, not after the one before it');
});
