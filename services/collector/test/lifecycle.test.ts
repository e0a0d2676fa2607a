// start → stop, twenty times in one process: each start really works (a new sample lands in
// Redis) and each stop gives back everything (fds, handles, Redis connections).
import t from 'tap';
import { waitFor, countOpenFds, activeHandleCount } from '@vigil/testkit';
import { latest, reader, spawnChild, redisFor, collectorFor } from './fixtures.js';

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
