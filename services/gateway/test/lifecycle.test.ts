// The bug in seeds/000: a server stopped and started again kept a dead WebSocket server, so the
// second login found the connection closed. Here every start builds everything anew and every
// stop releases it: twenty cycles in one process, a client receiving live data each time, and no
// growth in handles, file descriptors, listeners or Redis connections.
import t from 'tap';
import { ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { activeHandleCount, countOpenFds, startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, collect, connectClient, emitAck, startGateway } from './helpers.js';

function processListenerCount(): number {
  return process.eventNames().reduce((sum, name) => sum + process.listenerCount(name), 0);
}

async function redisClientCount(command: (...args: string[]) => Promise<string>): Promise<number> {
  const list = await command('CLIENT', 'LIST');
  return list.split('\n').filter((line) => line.includes('name=vigil-gw:')).length;
}

t.test('start → stop → start twenty times, receiving every time, leaking nothing', async (t) => {
  const redis = await startRedis();
  const collector = new FakeCollector(redis.url);
  t.teardown(async () => {
    await collector.close();
    await redis.close();
  });

  type Snapshot = { handles: number; fds: number; listeners: number };
  const snapshots: Snapshot[] = [];
  const CYCLES = 20;
  await collector.register('cycle');
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const gw = await startGateway(redis.url);
    const client = await connectClient(gw.url);
    const infos = collect<ProcessInfoEvent>(client, ServerEvents.processInfo);
    const ack = await emitAck(client, 'subscribe-server-metrics', { serverId: 'cycle' });
    if (!ack.ok) t.fail(`cycle ${cycle}: subscribe failed`);
    const latestFromBefore = infos.length; // from cycle 2 on, the previous cycle's sample is the latest
    await collector.sample('cycle', cycle);
    await waitFor(() => infos.some((i) => i.processInfo.uptime === cycle), { message: `cycle ${cycle} live sample` });
    t.ok(latestFromBefore <= 1, `cycle ${cycle}: client connected, subscribed and received live data`);
    t.equal(await redisClientCount(redis.command), 3, `cycle ${cycle}: exactly this gateway's 3 Redis connections are open`);
    client.close();
    await gw.close();
    await waitFor(async () => (await redisClientCount(redis.command)) === 0, { message: `cycle ${cycle}: Redis connections closed` });
    snapshots.push({ handles: activeHandleCount(), fds: countOpenFds(), listeners: processListenerCount() });
  }
  const first = snapshots[1]!; // after the second cycle: lazy one-time initialisation is done
  const last = snapshots[CYCLES - 1]!;
  t.comment(`after cycle 2: ${JSON.stringify(first)}; after cycle ${CYCLES}: ${JSON.stringify(last)}`);
  // Small slack: a socket the kernel is still tearing down may be counted once.
  t.ok(last.handles <= first.handles + 2, `active handles do not grow (${first.handles} → ${last.handles})`);
  t.ok(last.fds <= first.fds + 2, `open file descriptors do not grow (${first.fds} → ${last.fds})`);
  t.equal(last.listeners, first.listeners, 'process listeners do not grow');
});

t.test('closing twice and closing during an outage are both safe', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url);
  const client = await connectClient(gw.url);
  t.teardown(() => client.close());
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'x' });
  await redis.stop();
  await waitFor(async () => (await gw.inject('/readyz')).statusCode === 503);
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'y' });
  const started = Date.now();
  await gw.close();
  await gw.close();
  t.ok(Date.now() - started < 5000, 'close does not hang on an absent Redis');
  await redis.start();
  const again = await startGateway(redis.url);
  t.teardown(() => again.close());
  await waitFor(async () => (await again.inject('/readyz')).statusCode === 200, { message: 'a new gateway in the same process is ready' });
  t.pass('a new gateway starts after the old one closed during an outage');
});
