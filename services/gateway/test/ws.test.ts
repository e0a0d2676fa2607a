// The plain WebSocket endpoint /ws: the same protocol as Socket.IO's /monitoring, from the same
// handlers, on real gateways sharing one real Redis.
import t from 'tap';
import { ErrorCodes, NAMESPACE, ServerEvents, WsCloseCodes, metricsRoom, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { adapterChannel } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { collect, emitAck, startStack, testToken } from './helpers.js';
import { WsTestClient } from './ws-helpers.js';

const uptimes = (got: ProcessInfoEvent[]) => got.map((e) => e.processInfo.uptime);

t.test('a /ws client and a Socket.IO client on other gateways each get every sample once, in order', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const [a, b] = stack.pair();
  const { collector, redis } = stack;
  const first = await collector.sample('S', 0);
  const ws = await WsTestClient.connect(a.url);
  t.teardown(() => ws.close());
  const io = await stack.client(b);
  const gotIo = collect<ProcessInfoEvent>(io, ServerEvents.processInfo);

  const ack = await ws.request('subscribe-server-metrics', { serverId: 'S' });
  t.match(ack, { ok: true, room: metricsRoom('S'), serverId: 'S', latest: true }, 'the /ws ack is the Socket.IO ack');
  t.match(await emitAck(io, 'subscribe-server-metrics', { serverId: 'S' }), { ok: true, latest: true });
  t.same(ws.got<ProcessInfoEvent>(ServerEvents.processInfo).map((e) => e.position), [first], 'the latest sample on subscribe');
  t.match(ws.got(ServerEvents.subscriptionConfirmed), [{ room: metricsRoom('S'), serverId: 'S' }], 'subscription-confirmed pushed');

  const N = 150;
  const positions = [first];
  for (let n = 1; n <= N; n++) positions.push(await collector.sample('S', n));
  await waitFor(() => ws.got(ServerEvents.processInfo).length >= N + 1 && gotIo.length >= N + 1, { message: 'every sample on both clients' });
  const gotWs = ws.got<ProcessInfoEvent>(ServerEvents.processInfo);
  t.same(uptimes(gotWs), [...Array(N + 1).keys()], '/ws: every sample once, in order');
  t.same(gotWs.map((e) => e.position), positions, '/ws: with their positions');
  t.same(uptimes(gotIo), [...Array(N + 1).keys()], 'Socket.IO: every sample once, in order');

  // The room on A holds only the /ws client: A subscribed for it, and unsubscribes when it leaves.
  const channel = adapterChannel(NAMESPACE, metricsRoom('S'));
  t.equal(a.app.redisReceived(channel), N, 'gateway A received each sample once from Redis for its /ws client');
  t.match(await ws.request('unsubscribe-server-metrics', { serverId: 'S' }), { ok: true, wasSubscribed: true });
  await waitFor(async () => /:1\r\n$/.test(await redis.command('PUBSUB', 'SHARDNUMSUB', channel)), { message: 'A to unsubscribe from S' });
  await collector.sample('S', N + 1);
  await waitFor(() => gotIo.length === N + 2, { message: 'the Socket.IO client to get the next sample' });
  t.equal(a.app.redisReceived(channel), N, 'A hears nothing of S once its /ws client left');
  t.equal(ws.got(ServerEvents.processInfo).length, N + 1, 'nor does the /ws client');
});
