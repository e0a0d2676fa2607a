// /metrics in Prometheus text, on its own port (never the public one): connections, rooms, Redis
// messages, deliveries, delivery lag, rejected events, each labelled with the gateway id.
import t from 'tap';
import { startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, connectClient, emitAck, startGateway } from './helpers.js';

function value(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

t.test('the numbers an operator watches', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { gatewayId: 'gw-metrics', metricsPort: 0 });
  const collector = new FakeCollector(redis.url);
  const c1 = await connectClient(gw.url);
  const c2 = await connectClient(gw.url);
  t.teardown(async () => {
    c1.close();
    c2.close();
    await collector.close();
    await gw.close();
    await redis.close();
  });
  await collector.register('S');
  await emitAck(c1, 'subscribe-server-metrics', { serverId: 'S' });
  await emitAck(c2, 'subscribe-server-metrics', { serverId: 'S' });
  await emitAck(c2, 'subscribe-server-metrics', { serverId: 12 });
  for (let n = 0; n < 5; n++) await collector.sample('S', n);
  const address = gw.app.metricsAddress();
  t.ok(address && address.port !== gw.port, `served on a port of its own (${address?.url})`);
  const metrics = async () => {
    const res = await fetch(address!.url);
    t.match(res.headers.get('content-type'), /text\/plain/);
    return res.text();
  };
  const publicPort = await fetch(`${gw.url}/metrics`);
  t.equal(publicPort.status, 404, 'the public port does not serve /metrics');
  await waitFor(async () => value(await metrics(), 'vigil_gateway_deliveries_total', 'kind="metrics"') === 10, { message: 'deliveries counted' });
  const text = await metrics();
  t.equal(value(text, 'vigil_gateway_connections', 'gateway="gw-metrics"'), 2, 'two clients connected');
  t.equal(value(text, 'vigil_gateway_rooms'), 1, 'one room');
  t.equal(value(text, 'vigil_gateway_redis_messages_total', 'kind="metrics"'), 5, 'five messages from Redis');
  t.equal(value(text, 'vigil_gateway_deliveries_total', 'kind="metrics"'), 10, 'each to two clients');
  t.equal(value(text, 'vigil_gateway_delivery_lag_seconds_count', 'kind="metrics"'), 5, 'lag observed per message');
  t.equal(value(text, 'vigil_gateway_events_rejected_total', 'code="VIGIL_ERR_INVALID_PAYLOAD"'), 1, 'the invalid event is counted');
});
