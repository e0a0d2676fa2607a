// start → stop, twenty times in one process: each start really works (a new sample lands in
// Redis) and each stop gives back everything (fds, handles, Redis connections).
import t from 'tap';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, countOpenFds, activeHandleCount } from '@vigil/testkit';
import { latest, reader, spawnChild, redisFor, collectorFor, tempDir } from './fixtures.js';

const CYCLES = 20;
// Slack for counts sampled at an instant: a socket the kernel or libuv is still tearing down, or
// one of testkit's short-lived inline connections, may be counted once. A leak grows by at least
// one per cycle, i.e. by ~19 here, far above this.
const SLACK = 2;

async function redisClients(command: (...args: string[]) => Promise<string>): Promise<number> {
  const reply = await command('CLIENT', 'LIST');
  return reply.split('\n').filter((l) => l.startsWith('id=')).length;
}

t.test(`start → stop ×${CYCLES}: every start samples, nothing is held across cycles`, async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const { collector } = collectorFor(t, redis.url, {
    self: { id: 'me', intervalMs: 100 },
    targets: [{ id: 'api', pid: child.pid, intervalMs: 100 }],
    level: 'info',
  });

  let position: string | null = null;
  let baseline: { fds: number; handles: number; clients: number } | null = null;
  for (let i = 0; i < CYCLES; i++) {
    await collector.start();
    await collector.start(); // idempotent
    const seen = await waitFor(
      async () => {
        const l = await latest(r, 'api');
        return l && l.position !== position ? l.position : null;
      },
      { message: `a new sample after start #${i + 1}` },
    );
    position = seen;
    await collector.stop();
    await collector.stop(); // idempotent
    if (i === 0) {
      // Measured after a first full cycle: pidusage's per-pid stat fds and the reader are open by now.
      await waitFor(async () => (await redisClients(redis.command)) <= 2, { message: 'the collector connection closed' });
      baseline = { fds: countOpenFds(), handles: activeHandleCount(), clients: await redisClients(redis.command) };
    }
  }
  const b = baseline!;
  // Polled, not sampled once: closing sockets finish asynchronously. The last reading is asserted.
  let end = { fds: 0, handles: 0, clients: 0 };
  await waitFor(
    async () => {
      end = { fds: countOpenFds(), handles: activeHandleCount(), clients: await redisClients(redis.command) };
      return end.fds <= b.fds + SLACK && end.handles <= b.handles + SLACK && end.clients <= b.clients;
    },
    { timeoutMs: 5000 },
  ).catch(() => undefined);
  t.ok(end.fds <= b.fds + SLACK, `open fds ${end.fds} vs baseline ${b.fds}`);
  t.ok(end.handles <= b.handles + SLACK, `active handles ${end.handles} vs baseline ${b.handles}`);
  t.ok(end.clients <= b.clients, `redis clients ${end.clients} vs baseline ${b.clients}`);
  t.ok(collector.stats().ticks >= CYCLES, `ticks: ${collector.stats().ticks}`);
});

/** Pids of this process's children (redis-server, test children, and anything the collector left). */
function children(): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === process.pid && state !== 'Z') out.add(Number(name));
  }
  return out;
}

t.test('start → stop ×3 with every kind of resource: nothing left running, open or listening', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const dir = tempDir(t);
  const pidfile = join(dir, 'api.pid');
  writeFileSync(pidfile, `${child.pid}\n`);
  const logFile = join(dir, 'api.log');
  writeFileSync(logFile, '');
  const before = children();
  // A match pattern and a redaction pattern go through the backtracking check; a pidfile and a log
  // file are opened every tick and poll; a command is a child; the metrics port is a server.
  const { collector } = collectorFor(t, redis.url, {
    targets: [
      { id: 'api', pidfile, intervalMs: 100, logFiles: [logFile] },
      { id: 'web', match: `^${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*-e`, maxInstances: 2, intervalMs: 100 },
      { id: 'job', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], intervalMs: 100 },
    ],
    redact: { patterns: ['sk-[A-Za-z0-9]{8}'] },
    logPollMs: 50,
    metricsPort: 0,
    level: 'info',
  });
  let baseline: { fds: number; handles: number } | null = null;
  let position: string | null = null;
  for (let i = 0; i < 3; i++) {
    await collector.start();
    const port = collector.metricsAddress()!.port;
    t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, `cycle ${i + 1}: the metrics port answers`);
    position = await waitFor(
      async () => {
        const l = await latest(r, 'job');
        return l && l.position !== position ? l.position : null;
      },
      { message: `a new sample of the command after start #${i + 1}` },
    );
    await collector.stop();
    await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`), `cycle ${i + 1}: the metrics port is closed`);
    if (i === 0) baseline = { fds: countOpenFds(), handles: activeHandleCount() };
  }
  const b = baseline!;
  let end = { fds: 0, handles: 0, children: [] as number[] };
  await waitFor(
    () => {
      end = { fds: countOpenFds(), handles: activeHandleCount(), children: [...children()].filter((pid) => !before.has(pid)) };
      return end.fds <= b.fds + SLACK && end.handles <= b.handles + SLACK && end.children.length === 0;
    },
    { timeoutMs: 5000 },
  ).catch(() => undefined);
  t.same(end.children, [], 'no child process left (supervised command, regex checker)');
  t.ok(end.fds <= b.fds + SLACK, `open fds ${end.fds} vs after the first cycle ${b.fds}`);
  t.ok(end.handles <= b.handles + SLACK, `active handles ${end.handles} vs after the first cycle ${b.handles}`);
});
