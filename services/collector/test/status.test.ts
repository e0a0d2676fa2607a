// Status changes as gateways' clients see them (room broadcasts) and as the registry keeps them:
// an exited pid target, a pidfile pointing at a new process, match slots emptied and refilled.
import t, { type Test } from 'tap';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keys } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { TargetConfig } from '../src/index.js';
import {
  checkRegistry,
  checkStatusEvent,
  latest,
  marker,
  registryEntry,
  spawnChild,
  statusEvents,
  watchRoom,
  collectorFor,
  redisFor,
} from './fixtures.js';

async function setup(t: Test, targets: TargetConfig[]) {
  const { redis, r } = await redisFor(t);
  const { collector, lines } = collectorFor(t, redis.url, { targets });
  return { redis, collector, lines, r };
}

/** Atomic rewrite, so a tick never reads a half-written pidfile. */
function writePidfile(path: string, pid: number): void {
  writeFileSync(`${path}.tmp`, `${pid}\n`);
  renameSync(`${path}.tmp`, path);
}

t.test('a killed pid target is reported exited on its room and in the registry', async (t) => {
  const child = await spawnChild(t);
  const { redis, collector, r } = await setup(t, [{ id: 'api', pid: child.pid, intervalMs: 200 }]);
  const room = await watchRoom(t, redis.url, 'api');
  await collector.start();
  await waitFor(() => statusEvents(room).length === 1, { message: 'running' });
  await child.kill();
  await waitFor(() => statusEvents(room).length === 2, { message: 'exited', timeoutMs: 10_000 });
  t.match(statusEvents(room), [
    { serverId: 'api', status: 'running', pid: child.pid },
    { serverId: 'api', status: 'exited', pid: child.pid },
  ]);
  t.ok(statusEvents(room).every((e) => checkStatusEvent.check(e)), 'events valid');
  const entry = await registryEntry(r, 'api');
  t.ok(checkRegistry.check(entry), 'registry entry valid');
  t.equal(entry!.status, 'exited', 'registry says exited');
  // Heartbeats go on, so gateways do not take an exited server for a stale one.
  const beat = Number(await r.zscore(Keys.heartbeats, 'api'));
  await waitFor(async () => Number(await r.zscore(Keys.heartbeats, 'api')) > beat, { message: 'a later heartbeat' });
});

t.test('a pidfile rewritten to a new process is reported restarted with both pids', async (t) => {
  const a = await spawnChild(t);
  const pidfile = join(mkdtempSync(join(tmpdir(), 'vigil-collector-')), 'w.pid');
  writePidfile(pidfile, a.pid);
  const { redis, collector, r } = await setup(t, [{ id: 'worker', pidfile, intervalMs: 200 }]);
  const room = await watchRoom(t, redis.url, 'worker');
  await collector.start();
  await waitFor(() => statusEvents(room).length === 1, { message: 'running' });
  const b = await spawnChild(t);
  writePidfile(pidfile, b.pid);
  await waitFor(() => statusEvents(room).length === 2, { message: 'restarted' });
  t.match(statusEvents(room), [
    { status: 'running', pid: a.pid },
    { status: 'restarted', pid: b.pid, previousPid: a.pid },
  ]);
  t.ok(statusEvents(room).every((e) => checkStatusEvent.check(e)), 'events valid');
  await waitFor(async () => (await latest(r, 'worker'))?.processInfo.pid === b.pid, { message: 'samples of the new process' });
  t.match(await registryEntry(r, 'worker'), { status: 'restarted', pid: b.pid, restarts: 1 });
});

t.test('a match target reports every matching process in stable slots', async (t) => {
  const tag = marker();
  const script = 'setInterval(() => {}, 1000)';
  const children = [await spawnChild(t, script, [tag]), await spawnChild(t, script, [tag]), await spawnChild(t, script, [tag])];
  const { redis, collector, r } = await setup(t, [{ id: 'web', match: `${tag}$`, intervalMs: 200 }]);
  const ids = ['web', 'web.2', 'web.3'];
  const rooms = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await watchRoom(t, redis.url, id)] as const)));
  await collector.start();
  await waitFor(() => ids.every((id) => statusEvents(rooms[id]!).length === 1), { message: 'three servers running' });
  const entries = await Promise.all(ids.map((id) => registryEntry(r, id)));
  t.ok(entries.every((e) => checkRegistry.check(e) && e.status === 'running'), 'three registry entries, running');
  t.same(entries.map((e) => e!.pid).sort(), children.map((c) => c.pid).sort(), 'one server per matching process');
  t.same(await r.hlen(Keys.registry), 3, 'and no other');

  const victimPid = entries[1]!.pid!;
  await children.find((c) => c.pid === victimPid)!.kill();
  await waitFor(() => statusEvents(rooms['web.2']!).length === 2, { message: 'web.2 exited' });
  t.match(statusEvents(rooms['web.2']!)[1], { serverId: 'web.2', status: 'exited', pid: victimPid });

  const newcomer = await spawnChild(t, script, [tag]);
  await waitFor(() => statusEvents(rooms['web.2']!).length === 3, { message: 'web.2 refilled' });
  t.match(statusEvents(rooms['web.2']!)[2], { serverId: 'web.2', status: 'restarted', pid: newcomer.pid, previousPid: victimPid });
  t.match(await registryEntry(r, 'web.2'), { pid: newcomer.pid, restarts: 1 });
  t.equal(statusEvents(rooms.web!).length, 1, 'web kept its process');
  t.equal(statusEvents(rooms['web.3']!).length, 1, 'web.3 kept its process');
  t.same(await r.hlen(Keys.registry), 3, 'still three servers');
});
