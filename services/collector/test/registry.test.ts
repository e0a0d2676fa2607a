// The registry entry of a server is written when it changes, not every tick (heartbeats carry
// staleness), and comes back by itself after Redis restarts empty.
import t from 'tap';
import { waitFor } from '@vigil/testkit';
import { checkRegistry, collectorFor, latest, redisFor, registryEntry, spawnChild } from './fixtures.js';

async function hsetCalls(command: (...a: string[]) => Promise<string>): Promise<number> {
  const stats = await command('INFO', 'commandstats');
  return Number(/cmdstat_hset:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

t.test('registry writes follow changes, and survive a Redis restart', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'app', pid: child.pid, intervalMs: 100 }] });
  await collector.start();
  await waitFor(async () => (await registryEntry(r, 'app')) !== null, { message: 'registered' });
  const first = await hsetCalls(redis.command);
  const ticksBefore = collector.stats().ticks;
  await waitFor(() => collector.stats().ticks >= ticksBefore + 10, { message: 'ten more ticks' });
  t.equal(await hsetCalls(redis.command), first, 'ten unchanged ticks wrote no registry entry');

  await child.kill();
  await waitFor(async () => (await registryEntry(r, 'app'))?.status === 'exited', { message: 'exit recorded' });
  t.ok((await hsetCalls(redis.command)) > first, 'a status change is written at once');

  await redis.stop();
  await waitFor(() => collector.stats().writeFailures > 0, { message: 'a failed write' });
  await redis.start();
  const entry = await waitFor(async () => registryEntry(r, 'app'), { timeoutMs: 15_000, message: 'the entry back after the restart' });
  t.ok(checkRegistry.check(entry), 'the rewritten entry is well formed');
  t.equal(entry.status, 'exited');
  t.equal(await latest(r, 'app'), null, 'an exited server has no new sample');
});
