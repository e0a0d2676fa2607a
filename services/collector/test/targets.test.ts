// Every kind of target ends up in Redis the way gateways read it: registry entry, latest sample,
// history and room broadcasts, with one batched pidusage call per tick.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pidusage from 'pidusage';
import { Keys, ServerEvents } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { SampleFn } from '../src/index.js';
import {
  BUSY,
  checkInfoBody,
  checkInfoEvent,
  checkRegistry,
  checkStatusEvent,
  latest,
  marker,
  registryEntry,
  spawnChild,
  streamEntries,
  watchRoom,
  redisFor,
  collectorFor,
} from './fixtures.js';

t.test('pid, pidfile, match and self targets: registry, latest, history, broadcasts', async (t) => {
  const { redis, r } = await redisFor(t);
  const busy = await spawnChild(t, BUSY);
  const byFile = await spawnChild(t);
  const tag = marker();
  const matched = await spawnChild(t, 'setInterval(() => {}, 1000)', [tag]);
  const pidfile = join(mkdtempSync(join(tmpdir(), 'vigil-collector-')), 'worker.pid');
  writeFileSync(pidfile, `${byFile.pid}\n`);

  const expected: Record<string, number> = { busy: busy.pid, worker: byFile.pid, web: matched.pid, me: process.pid };
  const rooms = Object.fromEntries(await Promise.all(Object.keys(expected).map(async (id) => [id, await watchRoom(t, redis.url, id)] as const)));

  const calls: number[][] = [];
  const sample: SampleFn = (pids, options) => {
    calls.push([...pids]);
    return (pidusage as unknown as SampleFn)(pids, options);
  };
  const { collector } = collectorFor(t, redis.url, {
    collectorId: 'test-host',
    host: 'test-host',
    self: { id: 'me', intervalMs: 200 },
    targets: [
      { id: 'busy', pid: busy.pid, intervalMs: 200 },
      { id: 'worker', pidfile, intervalMs: 200 },
      { id: 'web', match: tag, intervalMs: 200 },
    ],
    sample,
  });
  await collector.start();

  const busyLatest = await waitFor(
    async () => {
      const l = await latest(r, 'busy');
      return l && l.processInfo.cpu > 5 ? l : null;
    },
    { timeoutMs: 20_000, message: 'a sample of the busy child with cpu > 5' },
  );
  t.equal(busyLatest.processInfo.pid, busy.pid, 'the busy sample has its pid');
  t.ok(busyLatest.processInfo.cpu > 5, `cpu ${busyLatest.processInfo.cpu} > 5`);
  await waitFor(async () => (await Promise.all(Object.keys(expected).map((id) => latest(r, id)))).every(Boolean), {
    message: 'a latest sample for every server',
  });
  const ticksBefore = collector.stats().ticks;
  await waitFor(() => collector.stats().ticks >= ticksBefore + 2, { message: 'two more ticks, for a history of several entries' });
  await collector.stop();
  await busy.kill();

  const { ticks } = collector.stats();
  t.equal(calls.length, ticks, `one pidusage call per tick (${ticks} ticks)`);
  t.ok(calls.every((c) => c.includes(process.pid)), 'every call carries the agent itself as clock anchor');
  t.ok(
    calls.some((c) => Object.values(expected).every((pid) => c.includes(pid))),
    'targets due together are sampled in one call',
  );

  for (const [id, pid] of Object.entries(expected)) {
    const entry = await registryEntry(r, id);
    t.ok(checkRegistry.check(entry), checkRegistry.explain(entry) ?? `${id}: registry entry valid`);
    // Read after collector.stop(): a cleanly stopped collector leaves its servers `stopped`.
    t.match(entry, { serverId: id, targetId: id, pid, status: 'stopped', collectorId: 'test-host', host: 'test-host', intervalMs: 200, staleAfterMs: 1000 }, `${id}: registry`);
    t.ok((await r.zscore(Keys.heartbeats, id)) !== null, `${id}: heartbeat`);

    const last = await latest(r, id);
    t.ok(checkInfoEvent.check(last), checkInfoEvent.explain(last) ?? `${id}: latest valid`);
    t.equal(last!.processInfo.pid, pid, `${id}: latest sample is of pid ${pid}`);

    const history = await streamEntries(r, Keys.metrics(id));
    t.ok(history.length >= 1, `${id}: history has ${history.length} entries`);
    t.ok(history.every(([, body]) => checkInfoBody.check(body)), `${id}: history bodies valid`);
    t.equal(last!.position, history[history.length - 1]![0], `${id}: latest carries the newest position`);

    const got = rooms[id]!;
    await waitFor(() => got.filter((b) => b.event === ServerEvents.processInfo).length === history.length, {
      message: `${id}: one broadcast per history entry`,
    });
    t.same(
      got.filter((b) => b.event === ServerEvents.processInfo).map((b) => b.payload.position),
      history.map(([position]) => position),
      `${id}: broadcast positions are the history's stream ids`,
    );
    const statuses = got.filter((b) => b.event === ServerEvents.serverStatusChanged).map((b) => b.payload);
    t.match(statuses, [{ serverId: id, status: 'running', pid }], `${id}: one running event`);
    t.ok(statuses.every((s) => checkStatusEvent.check(s)), `${id}: status events valid`);
    const events = await streamEntries(r, Keys.events(id));
    t.same(statuses.map((s) => s.position), events.map(([position]) => position), `${id}: status positions are the event stream's ids`);
  }
  t.match((await registryEntry(r, 'web'))!.command, tag, 'the registry carries the command line');
});
