// Redis restarts; a collector writes lines the moment it answers, before this gateway has
// re-subscribed. A client that stayed connected (like the earlier dashboard) still gets every
// line: the gateway replays what it could not receive live.
import t from 'tap';
import { ServerEvents, type ProcessLogsEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, collect, connectClient, emitAck, restartRedisUnder, startGateway } from './helpers.js';

t.test('lines written while the gateway was re-subscribing reach a connected client', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url);
  const client = await connectClient(gw.url);
  t.teardown(async () => {
    client.close();
    await gw.close();
    await redis.close();
  });
  const lines = collect<ProcessLogsEvent>(client, ServerEvents.processLogs);
  const resyncs = collect<unknown>(client, ServerEvents.resyncRequired);
  const before = new FakeCollector(redis.url);
  await before.register('S');
  t.match(await emitAck(client, 'subscribe-server-logs', { serverId: 'S', level: 'info' }), { ok: true });
  await before.lines('S', [{ level: 'info', message: 'before' }]);
  await waitFor(() => lines.length === 1);
  await before.close();

  // Written at once: the gateway reconnects with a backoff, so it is not subscribed yet.
  const collector = await restartRedisUnder(t, redis, gw);
  const burst = await collector.lines('S', [
    { level: 'info', message: 'burst 1' },
    { level: 'debug', message: 'burst below level' },
    { level: 'error', message: 'burst 2' },
  ]);
  await waitFor(async () => (await gw.inject('/readyz')).statusCode === 200, { timeoutMs: 20_000, message: 'gateway ready again' });
  const after = await collector.lines('S', [{ level: 'warn', message: 'after' }]);
  await waitFor(() => lines.some((l) => l.position === after[0]) && lines.some((l) => l.position === burst[2]), {
    timeoutMs: 10_000,
    message: 'the burst and the live line',
  });
  const got = [...new Set(lines.map((l) => l.position))];
  t.same(got.sort(), [lines[0]!.position, burst[0], burst[2], after[0]].sort(), 'every line at info and above arrived, none below');
  t.equal(lines.length, got.length, 'none twice');
  t.equal(client.connected, true, 'the client never had to reconnect');
  t.equal(resyncs.length, 0, 'a client that does not re-join itself is not asked to');
});
