// A pid target is a process, not a number: once it exits, a new process that gets the same pid
// is not it. The test hands the old pid to a new child through ns_last_pid (needs root).
import t from 'tap';
import { accessSync, constants, writeFileSync } from 'node:fs';
import pidusage from 'pidusage';
import { Keys, ServerEvents } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { SampleFn } from '../src/index.js';
import { latest, registryEntry, spawnChild, statusEvents, watchRoom, type Child, redisFor, collectorFor } from './fixtures.js';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
const MAX_ATTEMPTS = 50;

t.test('a reused pid is not mistaken for the exited pid target', async (t) => {
  try {
    accessSync(NS_LAST_PID, constants.W_OK);
  } catch (err) {
    t.fail(`this test must run as root: it needs to write ${NS_LAST_PID} to reuse a pid (${(err as Error).message})`);
    return;
  }
  const { redis, r } = await redisFor(t);
  const old = await spawnChild(t);

  const results: Array<Record<string, unknown>> = [];
  const sample: SampleFn = async (pids, options) => {
    const out = await (pidusage as unknown as SampleFn)(pids, options);
    results.push(out);
    return out;
  };
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'api', pid: old.pid, intervalMs: 200 }],
    sample,
  });
  const room = await watchRoom(t, redis.url, 'api');
  await collector.start();
  await waitFor(async () => (await latest(r, 'api')) !== null, { message: 'a first sample' });

  await old.kill();
  await waitFor(() => statusEvents(room).length === 2, { message: 'exited' });
  const samplesAtExit = room.filter((b) => b.event === ServerEvents.processInfo).length;
  const historyAtExit = await r.xlen(Keys.metrics('api'));
  const latestAtExit = (await latest(r, 'api'))!.position;

  let reuse: Child | null = null;
  for (let i = 0; i < MAX_ATTEMPTS && !reuse; i++) {
    writeFileSync(NS_LAST_PID, String(old.pid - 1));
    const c = await spawnChild(t);
    if (c.pid === old.pid) reuse = c;
    else await c.kill();
  }
  if (!reuse) {
    t.fail(`no new child got pid ${old.pid} in ${MAX_ATTEMPTS} attempts (other processes kept taking it)`);
    return;
  }

  // The sampler must really have read the new process at that pid (pidusage's cached fd of the
  // old one has to expire first), and the collector must have ticked on it a few times.
  const mark = results.length;
  await waitFor(() => results.slice(mark).some((res) => res[String(old.pid)]), {
    timeoutMs: 15_000,
    message: 'the new process at the old pid to be sampled',
  });
  const ticks = collector.stats().ticks;
  await waitFor(() => collector.stats().ticks >= ticks + 3, { message: 'three more ticks' });

  t.match(
    statusEvents(room),
    [
      { status: 'running', pid: old.pid },
      { status: 'exited', pid: old.pid },
    ],
    'running, then exited',
  );
  t.equal(statusEvents(room).length, 2, 'no restarted, no running again');
  t.equal(room.filter((b) => b.event === ServerEvents.processInfo).length, samplesAtExit, 'no sample broadcast for the new process');
  t.equal(await r.xlen(Keys.metrics('api')), historyAtExit, 'no sample stored for it');
  t.equal((await latest(r, 'api'))!.position, latestAtExit, 'latest is still the old process');
  t.match(await registryEntry(r, 'api'), { status: 'exited', pid: old.pid, restarts: 0 }, 'registry: exited');
});
