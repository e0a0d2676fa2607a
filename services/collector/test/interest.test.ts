// The collector follows its viewers: what gateways record for it in Redis (InterestStore) sets
// each target's sampling interval, within a second, bounded by the target's minimum, back to the
// configured interval when nobody asks faster, when an ask expires, or while Redis is away.
import t from 'tap';
import { INTERVAL_MIN_MS, Keys, interestKey } from '@vigil/protocol';
import { InterestStore } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { collectorFor, marker, redisFor, registryEntry, spawnChild, type LogLine } from './fixtures.js';

const GW = 'gw-test';
const changes = (lines: LogLine[], targetId: string) =>
  lines.filter((l) => l.msg === 'sampling interval changed' && l.targetId === targetId).map((l) => l.to as number);

/** Samples of `serverId` written during `ms` (the stream's length before and after). */
async function samplesDuring(r: { xlen(key: string): Promise<number> }, serverIds: string[], ms: number): Promise<number[]> {
  const before = await Promise.all(serverIds.map((id) => r.xlen(Keys.metrics(id))));
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await Promise.all(serverIds.map((id) => r.xlen(Keys.metrics(id))));
  return after.map((n, i) => n - before[i]!);
}

t.test('a watched target is sampled at the asked interval, the others at theirs, and back when the ask ends', async (t) => {
  const { redis, r } = await redisFor(t);
  const [one, two] = await Promise.all([spawnChild(t), spawnChild(t)]);
  const { collector, lines } = collectorFor(t, redis.url, {
    targets: [
      { id: 'watched', pid: one.pid, intervalMs: 2000, minIntervalMs: 200 },
      { id: 'other', pid: two.pid, intervalMs: 2000, minIntervalMs: 200 },
    ],
  });
  await collector.start();
  const entry = await waitFor(async () => registryEntry(r, 'watched'), { message: 'registered' });
  t.match(entry, { intervalMs: 2000, minIntervalMs: 200 }, 'the registry says the configured interval and the minimum');

  const store = new InterestStore(r);
  await store.write(GW, new Map([['c', [{ serverId: 'watched', intervalMs: 100 }]]]), 60_000, 60_000);
  await waitFor(() => changes(lines, 'watched').includes(200), { timeoutMs: 5000, message: 'the change noticed' });
  t.same(changes(lines, 'watched'), [200], 'asked 100, bounded by the minimum: 200');
  t.same(changes(lines, 'other'), [], 'the other target is not touched');
  // 200 ms vs 2 s over 4 s: about 20 and 2 (generous bounds: the machine is busy).
  const [watched, other] = await samplesDuring(r, ['watched', 'other'], 4000);
  t.ok(watched! >= 8, `the watched target sampled often: ${watched} samples in 4 s`);
  t.ok(other! <= 4, `the other one at its own 2 s: ${other} samples in 4 s`);

  await store.write(GW, new Map([['c', [{ serverId: 'watched', intervalMs: null }]]]), 60_000, 60_000);
  await waitFor(() => changes(lines, 'watched').at(-1) === 2000, { timeoutMs: 5000, message: 'back to 2 s' });
  const [after] = await samplesDuring(r, ['watched'], 4000);
  t.ok(after! <= 4, `the ask withdrawn: ${after} samples in 4 s`);
});

t.test('an ask that is not refreshed expires; slots, unknown servers and malformed entries', async (t) => {
  const { redis, r } = await redisFor(t);
  const name = marker();
  await spawnChild(t, 'setInterval(() => {}, 1000)', [name]);
  const { collector, lines } = collectorFor(t, redis.url, {
    targets: [{ id: 'm', match: name, maxInstances: 3, intervalMs: 3000, minIntervalMs: INTERVAL_MIN_MS }],
  });
  const store = new InterestStore(r);
  // Garbage a broken writer might leave: skipped (and cleaned up), never applied.
  await r.hset(interestKey('c'), 'no-space-here', '100:99999999999999', 'x gw', 'fast:1', 'y gw', `50:${Date.now() + 60_000}`);
  await store.write(GW, new Map([['c', [{ serverId: 'not-mine', intervalMs: 100 }, { serverId: 'm.2', intervalMs: 400 }]]]), 3000, 60_000);
  await collector.start();
  await waitFor(() => changes(lines, 'm').includes(400), { timeoutMs: 5000, message: 'a slot of a match target moves its target' });
  await waitFor(() => changes(lines, 'm').at(-1) === 3000, { timeoutMs: 10_000, message: 'the ask expired' });
  t.same(changes(lines, 'm'), [400, 3000], 'faster while the ask lived, then back to the configured interval');
  t.same(Object.keys(await r.hgetall(interestKey('c'))), [], 'expired and malformed fields removed by the reader');
});

t.test('while Redis is away, every target is at its configured interval', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const { collector, lines } = collectorFor(t, redis.url, { targets: [{ id: 'a', pid: child.pid, intervalMs: 2000, minIntervalMs: 500 }] });
  await collector.start();
  await new InterestStore(r).write(GW, new Map([['c', [{ serverId: 'a', intervalMs: 500 }]]]), 600_000, 600_000);
  await waitFor(() => changes(lines, 'a').includes(500), { timeoutMs: 5000, message: 'fast' });
  await redis.stop();
  await waitFor(() => changes(lines, 'a').at(-1) === 2000, { timeoutMs: 10_000, message: 'configured while Redis is away' });
  await redis.start();
  // The hash was in memory only: a restarted Redis is empty, and so is the interest.
  await new InterestStore(r).write(GW, new Map([['c', [{ serverId: 'a', intervalMs: 500 }]]]), 600_000, 600_000);
  await waitFor(() => changes(lines, 'a').at(-1) === 500, { timeoutMs: 15_000, message: 'fast again once Redis answers' });
  t.same(changes(lines, 'a'), [500, 2000, 500]);
});
