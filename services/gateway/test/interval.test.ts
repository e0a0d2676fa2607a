// Sampling at the rate viewers ask: the subscribe ack and `subscription-confirmed` say the interval
// the client's samples will come at, and the gateway records in Redis, per server, the fastest
// interval its clients in the room ask for, until they leave (however they leave).
import t from 'tap';
import { ServerEvents, interestKey } from '@vigil/protocol';
import { InterestStore } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { io as connect } from 'socket.io-client';
import { ALL_ACCESS_TOKEN, collect, emitAck, startStack, testToken } from './helpers.js';

const COLLECTOR = 'test-collector';
/** A collector configured at 5 s that takes requests down to 1 s. */
const TAKES_ASKS = { intervalMs: 5000, minIntervalMs: 1000 };

t.test('the ack and the confirmation carry the interval the samples will come at', async (t) => {
  const { collector, client: newClient } = await startStack(t, { gateway: { refuseUnknownServers: false } });
  await collector.register('fast', TAKES_ASKS);
  await collector.register('fixed', { intervalMs: 5000 }); // a collector that publishes no minimum
  const client = await newClient();
  const confirmations = collect<Record<string, unknown>>(client, ServerEvents.subscriptionConfirmed);
  const cases: Array<[string, number | undefined, number, string]> = [
    ['fast', undefined, 5000, 'nothing asked: the configured interval'],
    ['fast', 2000, 2000, 'between the minimum and the configured interval: as asked'],
    ['fast', 500, 1000, 'faster than the minimum: the minimum'],
    ['fast', 60_000, 5000, 'slower than configured: samples still come at the configured interval'],
    ['fixed', 500, 5000, 'a collector that takes no asks: its configured interval'],
    ['nobody', 500, 5000, 'nothing registered: the default interval'],
  ];
  for (const [serverId, interval, expected, why] of cases) {
    const ack = await emitAck<Record<string, unknown>>(client, 'subscribe-server-metrics', { serverId, ...(interval ? { interval } : {}) });
    t.match(ack, { ok: true, serverId, interval: expected }, `ack: ${why}`);
    await waitFor(() => confirmations.length > 0, { message: 'subscription-confirmed' });
    t.match(confirmations.shift(), { serverId, interval: expected }, `confirmation: ${why}`);
  }
});

t.test('the fastest interval asked on each gateway is recorded for the collector, until the askers leave', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const { collector } = stack;
  const [a, b] = stack.pair();
  await collector.register(['S', 'T'], TAKES_ASKS);
  const store = new InterestStore(collector.redis);
  const wanted = () => store.read(COLLECTOR, 100);
  const wantedIs = (expected: Record<string, number>, message: string) =>
    waitFor(async () => JSON.stringify(Object.fromEntries([...(await wanted())].sort())) === JSON.stringify(expected), { message });

  const c1 = await stack.client(a);
  const c2 = await stack.client(a);
  const c3 = await stack.client(b);
  await emitAck(c1, 'subscribe-server-metrics', { serverId: 'S', interval: 500 });
  await emitAck(c2, 'subscribe-server-metrics', { serverId: 'S', interval: 2000 });
  await emitAck(c2, 'subscribe-server-metrics', { serverId: 'T' }); // nothing asked: nothing recorded
  await wantedIs({ S: 500 }, 'two clients asking 500 and 2000: 500');
  t.pass('500 and 2000 give 500; a client asking nothing adds nothing');

  await emitAck(c3, 'subscribe-server-metrics', { serverId: 'T', interval: 1000 });
  await wantedIs({ S: 500, T: 1000 }, 'the other gateway records its own client');
  const fields = Object.keys(await collector.redis.hgetall(interestKey(COLLECTOR))).sort();
  t.same(fields, [`S ${a.app.gatewayId}`, `T ${b.app.gatewayId}`], 'one field per server and gateway');

  await emitAck(c1, 'unsubscribe-server-metrics', { serverId: 'S' });
  await wantedIs({ S: 2000, T: 1000 }, 'the 500 asker left: 2000');
  t.pass('unsubscribing ends an ask');

  await emitAck(c2, 'subscribe-server-metrics', { serverId: 'S' });
  await wantedIs({ T: 1000 }, 're-subscribing without an interval withdraws the ask');
  t.pass('a re-subscribe replaces the ask');

  await emitAck(c2, 'subscribe-server-metrics', { serverId: 'S', interval: 6000 });
  await emitAck(c1, 'subscribe-server-metrics', { serverId: 'S', interval: 700 });
  await wantedIs({ S: 700, T: 1000 }, 'slower than configured is not recorded; 700 is');
  c1.disconnect();
  c3.disconnect();
  await wantedIs({}, 'disconnected clients ask nothing');
  t.pass('disconnecting ends asks on both gateways');
});

t.test('a refreshed token that no longer allows the room ends its ask', async (t) => {
  const stack = await startStack(t);
  await stack.collector.register(['S', 'T'], TAKES_ASKS);
  const store = new InterestStore(stack.collector.redis);
  const token = await testToken({ sub: 'narrow', vigil: { servers: ['S', 'T'], logs: false } });
  const client = await stack.client(stack.gw, { auth: { token } });
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'S', interval: 1000 });
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'T', interval: 2000 });
  await waitFor(async () => (await store.read(COLLECTOR, 10)).size === 2, { message: 'both recorded' });
  const narrower = await testToken({ sub: 'narrow', vigil: { servers: ['T'], logs: false } });
  t.match(await emitAck(client, 'refresh-token', { token: narrower }), { ok: true, left: ['server-metrics-S'] });
  await waitFor(async () => JSON.stringify([...(await store.read(COLLECTOR, 10))]) === JSON.stringify([['T', 2000]]), { message: 'S withdrawn' });
  t.pass('the room the new token does not allow no longer counts');
});

t.test('a session restored on another gateway asks its interval again there', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const [a, b] = stack.pair();
  await stack.collector.register('S', TAKES_ASKS);
  const store = new InterestStore(stack.collector.redis);
  const lb = await stack.balancer();
  lb.setBackends([a.port]);
  // A client that never re-subscribes itself (as the earlier dashboard): the gateway restores it.
  const c = connect(`${lb.url}/monitoring`, { transports: ['websocket'], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, auth: { token: ALL_ACCESS_TOKEN } });
  t.teardown(() => c.close());
  await waitFor(() => c.connected, { message: 'connected' });
  t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 'S', interval: 1500 }), { ok: true, interval: 1500 });
  const fields = async () => Object.keys(await stack.collector.redis.hgetall(interestKey(COLLECTOR)));
  await waitFor(async () => (await fields()).join() === `S ${a.app.gatewayId}`, { message: 'recorded by the first gateway' });

  lb.setBackends([b.port]);
  await a.close();
  await waitFor(async () => (await fields()).join() === `S ${b.app.gatewayId}`, { timeoutMs: 15_000, message: 'recorded by the second gateway only' });
  t.same([...(await store.read(COLLECTOR, 10))], [['S', 1500]], 'with the interval the client asked');
});
