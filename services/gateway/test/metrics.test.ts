// /metrics in Prometheus text, on its own port (never the public one): connections, rooms, Redis
// messages, deliveries, delivery lag, rejected events, each labelled with the gateway id.
import t from 'tap';
import { startRedis, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, FakeCollector, connectClient, emitAck, startGateway } from './helpers.js';

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
  const buckets = text.split('\n').filter((l) => l.startsWith('vigil_gateway_delivery_lag_seconds_bucket{') && l.includes('kind="metrics"'));
  const counts = buckets.map((l) => Number(l.split(' ').pop()));
  t.equal(buckets.length, 13, 'twelve buckets and +Inf');
  t.ok(counts.every((c, i) => i === 0 || c >= counts[i - 1]!), `buckets are cumulative (${counts.join(', ')})`);
  t.equal(value(text, 'vigil_gateway_delivery_lag_seconds_bucket', 'le="+Inf",kind="metrics"'), 5, 'every message falls under +Inf');
  t.match(text, /vigil_gateway_delivery_lag_seconds_bucket\{le="\+Inf",kind="metrics",gateway="gw-metrics"\} 5\n/, 'labelled with the gateway like every other series');
  t.ok(value(text, 'vigil_gateway_delivery_lag_seconds_sum', 'kind="metrics"') >= 0, 'and a sum');
  t.equal(value(text, 'vigil_gateway_events_rejected_total', 'code="VIGIL_ERR_INVALID_PAYLOAD"'), 1, 'the invalid event is counted');
});

/** A long-polling client by hand (engine.io protocol 4), so a test can stop it polling while it stays connected. */
async function pollingClient(url: string) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text(); // 0{"sid":…}
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  const at = `${base}&sid=${sid}`;
  const post = async (body: string) => {
    const res = await fetch(at, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    if (res.status !== 200) throw new Error(`POST ${res.status}`);
  };
  const poll = async () => (await fetch(at)).text();
  await post(`40/monitoring,${JSON.stringify({ token: ALL_ACCESS_TOKEN })}`);
  // Packets for the namespace before its connect is acknowledged (auth and session run first) are dropped.
  let got = '';
  while (!got.includes('40/monitoring,')) got += await poll();
  await post('42/monitoring,0["subscribe-server-metrics",{"serverId":"S"}]');
  while (!got.includes('subscription-confirmed')) got += await poll();
  return { poll, close: () => post('1') };
}

t.test('vigil_gateway_silent_sessions: clients with rooms whose traffic they have not been sent', async (t) => {
  const THRESHOLD_MS = 500;
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { silentSessionMs: THRESHOLD_MS, metricsPort: 0 });
  const collector = new FakeCollector(redis.url);
  const live = await connectClient(gw.url);
  const quiet = await connectClient(gw.url);
  t.teardown(async () => {
    live.close();
    quiet.close();
    await collector.close();
    await gw.close();
    await redis.close();
  });
  await collector.register(['S', 'Q']);
  await emitAck(live, 'subscribe-server-metrics', { serverId: 'S' });
  await emitAck(quiet, 'subscribe-server-metrics', { serverId: 'Q' }); // a server that sends nothing
  // The stuck client was last sent something no earlier than this: silence is counted from there.
  const since = Date.now();
  const stuck = await pollingClient(gw.url); // subscribed to S, then stops polling
  const silent = async () => value(await (await fetch(gw.app.metricsAddress()!.url)).text(), 'vigil_gateway_silent_sessions');
  t.equal(await silent(), 0, 'none at first');

  let n = 0;
  await waitFor(
    async () => {
      await collector.sample('S', ++n);
      return (await silent()) === 1;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'the client that stopped polling counted' },
  );
  t.ok(Date.now() - since >= THRESHOLD_MS, `counted after the threshold (${Date.now() - since} ms, threshold ${THRESHOLD_MS} ms)`);
  t.equal(await silent(), 1, 'only it: the WebSocket client in S is sent every sample, the one in a quiet room Q is not stuck');

  const buffered = await stuck.poll();
  t.match(buffered, /process:info/, 'it gets what was held for it when it polls again');
  t.equal(await silent(), 0, 'and no longer counts');
  await stuck.close();
});
