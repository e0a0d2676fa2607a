// A collector that stops cleanly says so: each of its servers turns `stopped` on its room, in its
// event stream and in the registry, so gateways neither wait for it nor call it stale. With
// Redis away, stopping still ends promptly.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keys } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import {
  checkRegistry,
  checkStatusEvent,
  cli,
  collectorFor,
  redisFor,
  registryEntry,
  spawnChild,
  statusEvents,
  streamEntries,
  tempDir,
  watchRoom,
} from './fixtures.js';

t.test('stop() marks every server stopped: room, event stream, registry', async (t) => {
  const child = await spawnChild(t);
  const { redis, r } = await redisFor(t);
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'api', pid: child.pid, intervalMs: 200 }], self: { id: 'agent', intervalMs: 200 } });
  const api = await watchRoom(t, redis.url, 'api');
  const agent = await watchRoom(t, redis.url, 'agent');
  await collector.start();
  await waitFor(() => statusEvents(api).length === 1 && statusEvents(agent).length === 1, { message: 'both running' });
  await collector.stop();
  await waitFor(() => statusEvents(api).length === 2 && statusEvents(agent).length === 2, { message: 'stopped on both rooms' });
  t.match(statusEvents(api)[1], { serverId: 'api', status: 'stopped', pid: child.pid, reason: 'collector stopped' });
  t.match(statusEvents(agent)[1], { serverId: 'agent', status: 'stopped', pid: process.pid });
  t.ok([...statusEvents(api), ...statusEvents(agent)].every((e) => checkStatusEvent.check(e)), 'events valid');
  for (const id of ['api', 'agent']) {
    const entry = await registryEntry(r, id);
    t.ok(checkRegistry.check(entry), `${id}: registry entry valid`);
    t.equal(entry!.status, 'stopped', `${id}: registry says stopped`);
    const events = await streamEntries<{ status: string }>(r, Keys.events(id));
    t.equal(events.at(-1)?.[1].status, 'stopped', `${id}: stored in its event stream`);
  }
});

t.test('SIGTERM: the CLI marks its servers stopped before it exits', async (t) => {
  const { redis, r } = await redisFor(t);
  const dir = tempDir(t);
  const config = join(dir, 'vigil.json');
  writeFileSync(config, JSON.stringify({ redisUrl: redis.url, collectorId: 'cli-c', host: 'h', defaults: { intervalMs: 200 }, self: { id: 'cli-agent' } }));
  const run = cli(t, ['--config', config]);
  await waitFor(async () => (await registryEntry(r, 'cli-agent'))?.status === 'running', { message: 'registered running', timeoutMs: 30_000 }).catch((err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  });
  run.proc.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exits 0');
  t.equal((await registryEntry(r, 'cli-agent'))?.status, 'stopped');
});

t.test('with Redis away, stop() still ends, and says why the servers were not marked', async (t) => {
  const { redis } = await redisFor(t);
  const { collector, lines } = collectorFor(t, redis.url, { targets: [], self: { id: 'agent', intervalMs: 200 } });
  const room = await watchRoom(t, redis.url, 'agent');
  await collector.start();
  await waitFor(() => statusEvents(room).length === 1, { message: 'running' });
  await redis.stop();
  await collector.stop();
  t.ok(lines.some((l) => /not marked stopped/.test(l.msg)), 'the skipped stopped status is logged');
});
