// Redis stopped for 10 s under a running system: neither the gateway nor the collector exits,
// readiness goes 503 then 200, and samples reach the same, still-connected client again.
import t from 'tap';
import { ServerEvents, comparePositions, type ProcessInfoEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, client, collect, emitAck, registered, spawnService, spawnTarget, startGatewayProcess } from './helpers.js';

t.test('a 10 s Redis outage: everything stays up and recovers by itself', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const target = spawnTarget(t, 'vigil-e2e-outage');
  const gw = await startGatewayProcess(t, redis.url);
  const collector = spawnService(t, COLLECTOR_ENTRY, ['--redis-url', redis.url, '--interval', '250', '--pid', `t=${target.pid}`], {});
  const c = await client(t, gw.url);
  const infos = collect<ProcessInfoEvent>(c, ServerEvents.processInfo);
  await registered(gw.url, 't');
  t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 't' }), { ok: true });
  await waitFor(() => infos.length >= 3, { timeoutMs: 20_000, message: 'samples before the outage' });

  await redis.stop();
  const downAt = Date.now();
  const countAtStop = infos.length;
  await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 503, { message: 'readyz 503' });
  await waitFor(() => Boolean(gw.exited() || collector.exited()) || Date.now() - downAt >= 10_000, { timeoutMs: 15_000, intervalMs: 200 });
  t.equal(gw.exited(), null, 'the gateway did not exit');
  t.equal(collector.exited(), null, 'the collector did not exit');
  t.ok(infos.length <= countAtStop + 1, 'nothing is delivered while Redis is away');

  await redis.start();
  const upAt = Date.now();
  await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 200, { timeoutMs: 20_000, message: 'readyz 200 again' });
  const readyAfter = Date.now() - upAt;
  const lastBefore = infos.at(-1)!.position;
  await waitFor(() => infos.length > 0 && comparePositions(infos.at(-1)!.position, lastBefore) > 0, {
    timeoutMs: 20_000,
    message: 'new samples on the same client',
  });
  t.comment(`ready ${readyAfter} ms and first new sample ${Date.now() - upAt} ms after Redis returned`);
  t.equal(c.connected, true, 'the client never had to reconnect');
  t.equal(gw.exited(), null);
  t.equal(collector.exited(), null);
  t.notMatch(gw.output() + collector.output(), /VIGIL_ERR_UNHANDLED_REJECTION|Unhandled/, 'no unhandled rejection anywhere');
  t.match(collector.output(), /VIGIL_ERR_REDIS_WRITE_FAILED/, 'the collector reported the failed writes with a code');
});
