// Each row's CPU trend from fleet updates: a point per new sample position, bounded per row and in rows.
import t from 'tap';
import { SparkStore } from '../src/fleet-sparks.js';

const row = (id: string, ms: number, cpu: number | null) => ({ id, cpu, position: `${ms}-0` });

t.test('a point per new sample, in order; repeats and older samples add nothing', async (t) => {
  const s = new SparkStore(5, 10);
  t.equal(s.record(row('a', 1000, 1)), true);
  t.equal(s.record(row('a', 1000, 1)), false, 'the same position again (a heartbeat-only update)');
  t.equal(s.record(row('a', 2000, 2.5)), true);
  t.equal(s.record(row('a', 500, 9)), false, 'an older sample (a snapshot after a reconnect)');
  t.equal(s.record({ id: 'a', cpu: null, position: null }), false, 'no sample yet');
  t.equal(s.record({ id: 'a', cpu: 3, position: 'not-a-position' }), false, 'a malformed position');
  t.same(s.pointsOf('a'), [
    { time: 1, cpu: 1 },
    { time: 2, cpu: 2.5 },
  ]);
  t.not(s.stampOf('a'), s.stampOf('b'), 'a row with points has a stamp of its own');
});

t.test('bounded: the newest points per row, and the most recently updated rows', async (t) => {
  const s = new SparkStore(5, 3);
  for (let i = 1; i <= 12; i++) s.record(row('a', i * 1000, i));
  t.same(
    s.pointsOf('a').map((p) => p.cpu),
    [8, 9, 10, 11, 12],
    'five points kept, the oldest dropped',
  );
  s.record(row('b', 1000, 1));
  s.record(row('c', 1000, 1));
  s.record(row('a', 13_000, 13)); // a is now the most recent
  s.record(row('d', 1000, 1)); // one row too many: b, updated longest ago, goes
  t.equal(s.size, 3);
  t.same(s.pointsOf('b'), [], 'b let go');
  t.equal(s.countOf('a'), 5, 'a kept');
  s.forget('a');
  t.equal(s.countOf('a'), 0, 'forget drops a row');
  s.retain((id) => id === 'c');
  t.equal(s.size, 1, 'retain keeps only what it is told');
});
