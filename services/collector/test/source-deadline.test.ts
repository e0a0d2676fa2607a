// A source that never answers (a hung file system) costs a tick its deadline once, is reported for
// its target, and is not called again while that call is out.
import t from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import { DeadlineSource } from '../src/source-deadline.js';
import type { Resolution, Source } from '../src/source.js';
import { sinkLogger } from './fixtures.js';

const ctx = { processes: async () => [] };

t.test('a source past its deadline is reported at once while its call is out, and recovers', async (t) => {
  const { logger, lines } = sinkLogger();
  let calls = 0;
  let release: (r: Resolution) => void = () => undefined;
  const stuck: Source = {
    resolve: () => {
      calls++;
      return new Promise<Resolution>((resolve) => (release = resolve));
    },
  };
  const source = new DeadlineSource(stuck, 'nfs', logger, 100);
  const at = performance.now();
  const first = await source.resolve(ctx);
  const waited = performance.now() - at;
  // Never before the deadline; how long after it depends on how busy the machine is (the call
  // itself never answers until released, so returning at all is the deadline at work).
  t.ok(waited >= 90, `the first tick waited ${Math.round(waited)} ms, its deadline`);
  t.same(first.pids, []);
  t.match(first.unresolved, new RegExp(`took longer than 100 ms.*${ErrorCodes.TARGET_TIMEOUT}`));
  // Without waiting: answered before any timer or I/O callback could run (no clock in the check,
  // so a busy machine cannot fail it).
  const next = source.resolve(ctx).then((r) => ({ r }));
  const turn = new Promise<null>((resolve) => setImmediate(() => resolve(null)));
  const answered = await Promise.race([next, turn]);
  t.ok(answered, 'the next tick: answered without waiting');
  t.same(answered?.r ?? (await next).r, first, 'reported again');
  t.equal(calls, 1, 'and without a second call');
  t.equal(lines.filter((l) => l.code === ErrorCodes.TARGET_TIMEOUT && l.targetId === 'nfs').length, 1, 'one warning');

  release({ pids: [42] });
  await new Promise((resolve) => setImmediate(resolve));
  stuck.resolve = async () => ({ pids: [7] });
  t.same(await source.resolve(ctx), { pids: [7] }, 'once the late call ended, the source is asked again');
  t.match(lines.at(-1), { msg: 'the target is found in time again', targetId: 'nfs' });
});
