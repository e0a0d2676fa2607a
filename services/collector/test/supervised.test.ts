// Supervised commands as a process manager's user sees them: crashes restarted with growing
// backoff and every exit published with its exit code or signal, a give-up after maxRestarts,
// samples of the live child, and stop() leaving no process (or file descriptor) behind.
import t from 'tap';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Keys } from '@vigil/protocol';
import type { Redis } from 'ioredis';
import { countOpenFds, waitFor, type WaitOptions } from '@vigil/testkit';
import {
  alive,
  checkLogsEvent,
  checkStatusEvent,
  isAgentLine,
  latest,
  logEntries,
  registryEntry,
  statusEvents,
  streamEntries,
  tempDir,
  watchRoom,
  type StatusBody,
  redisFor,
  collectorFor,
} from './fixtures.js';

type Event = StatusBody & { timestamp: string; exitCode?: number | null; signal?: string | null };

/** A server's status events, once there are at least `n`. */
function eventsOf(r: Redis, serverId: string, n: number, options?: WaitOptions): Promise<Event[]> {
  return waitFor(async () => {
    const e = (await streamEntries<Event>(r, Keys.events(serverId))).map(([, b]) => b);
    return e.length >= n ? e : null;
  }, options);
}

t.test('a crashing command: restarted with growing backoff, each exit published, then it stays exited', async (t) => {
  const { redis, r } = await redisFor(t);
  const room = await watchRoom(t, redis.url, 'crashy');
  const { collector, lines } = collectorFor(t, redis.url, {
    targets: [
      {
        id: 'crashy',
        command: [process.execPath, '-e', "console.log('about to crash'); process.exit(1)"],
        restart: { maxRestarts: 3, backoffMs: 200, maxBackoffMs: 10_000 },
        intervalMs: 200,
      },
    ],
    level: 'info',
  });
  await collector.start();
  const events = await eventsOf(r, 'crashy', 8, { message: 'four runs and four exits', timeoutMs: 20_000 });
  t.same(events.map((e) => e.status), ['running', 'exited', 'restarted', 'exited', 'restarted', 'exited', 'restarted', 'exited']);
  const exits = events.filter((e) => e.status === 'exited');
  t.ok(exits.every((e) => e.exitCode === 1 && e.signal === null), 'every exit carries exitCode 1');
  t.match(exits.map((e) => e.reason), [/restarting in 200 ms \(restart 1 of 3\)$/, /restarting in 400 ms \(restart 2 of 3\)$/, /restarting in 800 ms \(restart 3 of 3\)$/, /not restarting: 3 restarts in a row reached maxRestarts$/]);
  events.forEach((e, i) => {
    if (e.status === 'restarted') t.equal(e.previousPid, events[i - 1]!.pid, `restart ${i / 2}: previousPid is the pid that exited`);
  });
  const gaps = events.flatMap((e, i) => (e.status === 'restarted' ? [Date.parse(e.timestamp) - Date.parse(events[i - 1]!.timestamp)] : []));
  t.ok(gaps[0]! >= 199 && gaps[1]! >= 399 && gaps[2]! >= 799, `each restart waits its backoff: ${gaps.join(', ')} ms`);
  t.ok(gaps[0]! < gaps[1]! && gaps[1]! < gaps[2]!, 'the gaps grow');

  await waitFor(() => statusEvents(room).length === 8, { message: 'the broadcasts' });
  t.ok(statusEvents(room).every((e) => checkStatusEvent.check(e)), 'broadcast status events are valid');
  const ticks = collector.stats().ticks;
  await waitFor(() => collector.stats().ticks >= ticks + 3, { message: 'three more ticks' });
  t.equal((await streamEntries(r, Keys.events('crashy'))).length, 8, 'no restart after giving up');
  t.match(await registryEntry(r, 'crashy'), { status: 'exited', restarts: 3 });

  const entries = await logEntries(r, 'crashy');
  t.ok(entries.every((e) => checkLogsEvent.check(e)), 'output and notices are valid process:logs payloads');
  const logs = entries.map((e) => (isAgentLine(e) ? `${e.logData.level}: ${e.logData.message}` : e.logData.message));
  t.equal(logs.filter((m) => m === 'about to crash').length, 4, 'the output of every run');
  t.match(logs[logs.length - 1], /^error: vigil: process \d+ exited with code 1; not restarting/, 'the log says it gave up');
  t.ok(lines.some((l) => l.level === 40 && /crashy: .*not restarting/.test(l.msg)), 'and so does a warning of the agent');
});

t.test('a command killed by SIGKILL is published with its signal, restarted, and sampled', async (t) => {
  const { redis, r } = await redisFor(t);
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'svc', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], restart: { backoffMs: 100 }, intervalMs: 200 }],
    level: 'info',
  });
  await collector.start();
  const events = (n: number) => eventsOf(r, 'svc', n);
  const first = (await events(1))[0]!;
  t.match(first, { status: 'running' });
  const sampled = await waitFor(() => latest(r, 'svc'), { message: 'a sample' });
  t.equal(sampled.processInfo.pid, first.pid, 'the child is sampled like any target');

  process.kill(first.pid!, 'SIGKILL');
  const [, exited, restarted] = await events(3);
  t.match(exited, { status: 'exited', pid: first.pid, signal: 'SIGKILL', exitCode: null, reason: /was killed by SIGKILL; restarting in 100 ms/ });
  t.match(restarted, { status: 'restarted', previousPid: first.pid });
  t.not(restarted!.pid, first.pid);
  await waitFor(async () => (await latest(r, 'svc'))?.processInfo.pid === restarted!.pid, { message: 'samples of the new child' });
  t.match(await registryEntry(r, 'svc'), { status: 'restarted', pid: restarted!.pid, restarts: 1 });
});

t.test('a command that cannot start is reported, retried, and given up on', async (t) => {
  const { redis, r } = await redisFor(t);
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'nope', command: '/nonexistent/vigil-test-binary --flag', restart: { maxRestarts: 1, backoffMs: 50 } }],
    level: 'info',
  });
  await collector.start();
  const events = await eventsOf(r, 'nope', 2);
  t.match(events, [
    { status: 'exited', pid: null, reason: /^failed to start: spawn \/nonexistent\/vigil-test-binary ENOENT; restarting in 50 ms/ },
    { status: 'exited', pid: null, reason: /not restarting/ },
  ]);
});

t.test('stop() ends supervised children (and what they started), closes log files; ×5 leaves nothing behind', async (t) => {
  const CYCLES = 5;
  const { redis, r } = await redisFor(t);
  const dir = tempDir(t);
  const logFile = join(dir, 'family.log');
  writeFileSync(logFile, '');
  const family = `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('pids ' + process.pid + ' ' + g.pid);
setInterval(() => {}, 1000);`;
  const stubborn = `
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('pid ' + process.pid);
setInterval(() => {}, 1000);`;
  const { collector } = collectorFor(t, redis.url, {
    targets: [
      { id: 'family', command: [process.execPath, '-e', family], logFiles: [logFile], intervalMs: 100 },
      { id: 'stubborn', command: [process.execPath, '-e', stubborn], stopGraceMs: 300, intervalMs: 100 },
    ],
    stateDir: join(dir, 'state'),
    logPollMs: 50,
    level: 'info',
  });

  let baseline = 0;
  const seen: number[] = [];
  for (let i = 1; i <= CYCLES; i++) {
    await collector.start();
    const pids = await waitFor(async () => {
      const f = (await logEntries(r, 'family')).filter((e) => e.logData.message.startsWith('pids '));
      const s = (await logEntries(r, 'stubborn')).filter((e) => e.logData.message.startsWith('pid '));
      if (f.length < i || s.length < i) return null;
      return [...f[i - 1]!.logData.message.split(' ').slice(1), s[i - 1]!.logData.message.split(' ')[1]!].map(Number);
    }, { message: `the children of start #${i}` });
    t.ok(pids.every(alive), `start #${i}: child, grandchild and stubborn child run`);
    seen.push(...pids);
    await collector.stop();
    t.same(pids.filter(alive), [], `stop #${i}: none of them is left`);
    if (i === 1) baseline = countOpenFds();
  }
  t.same(seen.filter(alive), [], 'no process of any cycle is left');
  // pidusage keeps a /proc/<pid>/stat fd per sampled pid until its sweeper drops it (about 1.5 ×
  // maxage, 3 × the 100 ms interval here): polled, and the last reading asserted.
  let fds = countOpenFds();
  await waitFor(() => (fds = countOpenFds()) <= baseline + 2, { timeoutMs: 5000 }).catch(() => undefined);
  t.ok(fds <= baseline + 2, `open fds ${fds} vs ${baseline} after the first cycle`);

  const stubbornEvents = (await streamEntries<Event>(r, Keys.events('stubborn'))).map(([, b]) => b).filter((e) => e.status === 'exited');
  t.equal(stubbornEvents.length, CYCLES, 'every stop is published as an exit');
  t.ok(stubbornEvents.every((e) => e.signal === 'SIGKILL' && /stopped by the collector$/.test(e.reason ?? '')), 'a child ignoring SIGTERM is killed after the grace');
  const familyEvents = (await streamEntries<Event>(r, Keys.events('family'))).map(([, b]) => b).filter((e) => e.status === 'exited');
  // Without this count the check below would pass on no exit at all.
  t.equal(familyEvents.length, CYCLES, 'every stop of the other child is published as an exit');
  t.ok(familyEvents.every((e) => e.signal === 'SIGTERM'), 'the others end on SIGTERM');
  t.equal((await logEntries(r, 'stubborn')).filter((e) => e.logData.message === 'ignoring SIGTERM').length, CYCLES, 'output written during stop still reaches Redis');
});
