// The sampler on a fake batched sampler: identity from elapsed times within one call, one call
// per sample() with the agent's own pid as anchor, calls never overlapping, and pids whose stale
// pidusage fd may still be cached left alone for a while.
import t from 'tap';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { bodyText } from '@vigil/store';
import { ProcessInfoBody, Sampler, processInfoHead, processInfoTail, toProcessInfo, type Observation, type PidStat, type SampleFn } from '../src/sampler.js';

const SELF = 4242;
const AT = Date.UTC(2026, 10, 21, 12, 0, 0);

function fake(table: () => Record<number, PidStat | undefined>) {
  const calls: number[][] = [];
  let active = 0;
  let overlapped = false;
  const sample: SampleFn = async (pids) => {
    calls.push([...pids]);
    if (active++ > 0) overlapped = true;
    await new Promise((r) => setImmediate(r));
    active--;
    const t = table();
    return Object.fromEntries(pids.map((p) => [p, t[p]]));
  };
  return { sample, calls, overlapped: () => overlapped };
}

t.test('identity: start relative to the agent, exact to the 10 ms tick', async (t) => {
  const f = fake(() => ({
    [SELF]: { cpu: 1, memory: 1, elapsed: 100_000.00000001 },
    10: { cpu: 55.555, memory: 2048, elapsed: 39_999.9999999 },
  }));
  const s = new Sampler({ sample: f.sample, now: () => AT, maxAgeMs: 3000, selfPid: SELF });
  const seen = await s.sample([10, 10]);
  t.same(f.calls, [[SELF, 10]], 'one call, own pid first, duplicates merged');
  const o = seen.get(10)!;
  t.equal(o.key, '10@60000');
  t.equal(o.cpu, 55.56);
  t.equal(o.startedAt, AT - 39_999.9999999);
  t.same(toProcessInfo(o), { pid: 10, cpu: 55.56, memory: { rss: 2048, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: 39, timestamp: new Date(AT).toISOString() });
  t.equal(seen.get(SELF)!.key, `${SELF}@0`);
});

t.test('one process keeps one Observation, updated by each sample; another process on the same pid gets its own', async (t) => {
  let now = AT;
  let row: PidStat = { cpu: 10, memory: 1000, elapsed: 40_000, ctime: 500 };
  const f = fake(() => ({ [SELF]: { cpu: 0, memory: 1, elapsed: 100_000 + (now - AT) }, 10: row }));
  const s = new Sampler({ sample: f.sample, now: () => now, maxAgeMs: 100_000, selfPid: SELF });
  const first = (await s.sample([10])).get(10)!;
  now += 1000;
  row = { cpu: 20, memory: 2000, elapsed: 41_000 };
  const second = (await s.sample([10])).get(10)!;
  t.equal(second, first, 'the same object for the same process');
  t.match(second, { key: '10@60000', cpu: 20, rss: 2000, elapsedMs: 41_000, at: AT + 1000, startedAt: AT + 1000 - 41_000 }, 'with the new figures');
  t.equal(second.cpuTimeMs, undefined, 'and no CPU time where the sampler gave none');
  // pid 10 now belongs to a process started later.
  now += 1000;
  row = { cpu: 1, memory: 3000, elapsed: 500 };
  const third = (await s.sample([10])).get(10)!;
  t.not(third, first, 'a new object for another process');
  t.equal(third.key, '10@101500');
  t.match(first, { key: '10@60000', rss: 2000 }, 'the old one still says what the old process was');
});

t.test('calls are serialized process-wide', async (t) => {
  const f = fake(() => ({ [SELF]: { cpu: 0, memory: 1, elapsed: 1000 } }));
  const a = new Sampler({ sample: f.sample, now: () => AT, maxAgeMs: 3000, selfPid: SELF });
  const b = new Sampler({ sample: f.sample, now: () => AT, maxAgeMs: 3000, selfPid: SELF });
  await Promise.all([a.sample([]), b.sample([]), a.sample([])]);
  t.equal(f.calls.length, 3);
  t.notOk(f.overlapped(), 'no two calls in flight at once');
});

t.test('a pid that was read and then failed is not asked for again until its fd can have expired', async (t) => {
  let alive = true;
  const f = fake(() => ({ [SELF]: { cpu: 0, memory: 1, elapsed: 1000 }, 20: alive ? { cpu: 0, memory: 1, elapsed: 500 } : undefined }));
  const s = new Sampler({ sample: f.sample, now: () => AT, maxAgeMs: 100_000, selfPid: SELF });
  t.ok((await s.sample([20])).has(20));
  alive = false;
  t.notOk((await s.sample([20])).has(20), 'gone');
  alive = true;
  t.notOk((await s.sample([20])).has(20), 'not asked while quarantined');
  t.same(f.calls[2], [SELF]);
});

t.test('a pid never read is asked for every time', async (t) => {
  const f = fake(() => ({ [SELF]: { cpu: 0, memory: 1, elapsed: 1000 } }));
  const s = new Sampler({ sample: f.sample, now: () => AT, maxAgeMs: 100_000, selfPid: SELF });
  await s.sample([30]);
  await s.sample([30]);
  t.same(f.calls, [[SELF, 30], [SELF, 30]]);
});

t.test('failures are SAMPLE_FAILED', async (t) => {
  const broken = new Sampler({ sample: async () => Promise.reject(new Error('boom')), now: () => AT, maxAgeMs: 3000, selfPid: SELF });
  await t.rejects(broken.sample([1]), new VigilError(ErrorCodes.SAMPLE_FAILED, 'pidusage failed: boom'));
  const noSelf = new Sampler({ sample: async () => ({}), now: () => AT, maxAgeMs: 3000, selfPid: SELF });
  await t.rejects(noSelf.sample([1]), { code: ErrorCodes.SAMPLE_FAILED });
});

t.test('a process:info body writes exactly what JSON.stringify writes of it', async (t) => {
  const base: Observation = { pid: 10, key: '10@0', startKey: 0, cpu: 55.56, rss: 2048, elapsedMs: 39_999.9, at: AT, startedAt: AT - 39_999.9 };
  const cases: Array<[string, Partial<Observation>]> = [
    ['api', {}],
    ['web.2:x-1', { cpu: 0, rss: 0, elapsedMs: 0 }],
    ['big', { pid: 4_194_304, cpu: 1234.5, rss: 2 ** 53 - 1, elapsedMs: 1e21 + 0.5, at: AT + 1 }],
    ['tiny', { cpu: 1e-7, rss: 0.1 + 0.2, elapsedMs: 999.999 }],
    ['odd', { cpu: Number.NaN, rss: Number.POSITIVE_INFINITY, elapsedMs: Number.NaN, at: Date.UTC(1970, 0, 1) }],
    ['neg', { cpu: -0, rss: -0, elapsedMs: -1 }],
    ['quoted "id" \\ é\u2028 😀', { pid: 7 }],
  ];
  // The assertion's name is kept to printable ASCII: a raw U+2028 in it ends the TAP line early, and
  // the assertion is lost (the subtest then fails on its count, whatever the body was).
  const named = (s: string) => JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  for (const [serverId, patch] of cases) {
    const o = { ...base, ...patch };
    for (const timestamp of [new Date(AT).toISOString(), new Date(o.at + 7).toISOString()]) {
      t.equal(bodyText(new ProcessInfoBody(processInfoHead(serverId), o, processInfoTail(o.at, timestamp))), JSON.stringify({ serverId, processInfo: toProcessInfo(o), timestamp }), `${named(serverId)} at ${timestamp}`);
    }
  }
});
