// Fan-out across gateways: collectors publish once, every subscribed client on any gateway gets
// each sample exactly once, in order; a gateway with nobody watching a server hears nothing of it.
import t from 'tap';
import { NAMESPACE, ServerEvents, metricsRoom, type ProcessInfoEvent } from '@vigil/protocol';
import { adapterChannel } from '@vigil/store';
import { startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, collect, connectClient, emitAck, startGateway } from './helpers.js';

t.test('clients on two gateways each get every sample of their room once, in order', async (t) => {
  const redis = await startRedis();
  const a = await startGateway(redis.url);
  const b = await startGateway(redis.url);
  const c = await startGateway(redis.url);
  const collector = new FakeCollector(redis.url);
  const ca = await connectClient(a.url);
  const cb = await connectClient(b.url);
  const cc = await connectClient(c.url);
  t.teardown(async () => {
    for (const s of [ca, cb, cc]) s.close();
    await collector.close();
    await Promise.all([a.close(), b.close(), c.close()]);
    await redis.close();
  });

  await collector.register(['S', 'OTHER']);
  const gotA = collect<ProcessInfoEvent>(ca, ServerEvents.processInfo);
  const gotB = collect<ProcessInfoEvent>(cb, ServerEvents.processInfo);
  const gotC = collect<ProcessInfoEvent>(cc, ServerEvents.processInfo);
  t.equal((await emitAck(ca, 'subscribe-server-metrics', { serverId: 'S' })).ok, true);
  t.equal((await emitAck(cb, 'subscribe-server-metrics', { serverId: 'S' })).ok, true);
  t.equal((await emitAck(cc, 'subscribe-server-metrics', { serverId: 'OTHER' })).ok, true);

  const N = 200;
  const positions: string[] = [];
  for (let n = 0; n < N; n++) positions.push(await collector.sample('S', n));

  await waitFor(() => gotA.length >= N && gotB.length >= N, { message: `${N} samples on both clients` });
  for (const [name, got] of [['A', gotA], ['B', gotB]] as const) {
    t.same(got.map((e) => e.processInfo.uptime), [...Array(N).keys()], `client on ${name} got every sample once, in order`);
    t.same(got.map((e) => e.position), positions, `client on ${name} saw each sample's position`);
    t.ok(got.every((e) => e.serverId === 'S' && e.processInfo.memory.rss > 0), `client on ${name} got well-formed samples`);
  }
  t.equal(gotC.length, 0, 'the client watching another server got none of S');
  const channelS = adapterChannel(NAMESPACE, metricsRoom('S'));
  t.equal(c.app.redisReceived(channelS), 0, 'gateway C, with nobody in S, received no Redis message for S');
  t.equal(a.app.redisReceived(channelS), N, 'gateway A received each message of S once from Redis');

  // A client joins S on C: from now on C receives S.
  t.equal((await emitAck(cc, 'subscribe-server-metrics', { serverId: 'S' })).ok, true);
  const before = gotC.length; // the latest sample, sent on subscribe
  await collector.sample('S', N);
  await waitFor(() => gotC.length === before + 1, { message: 'C to receive the next sample' });
  t.equal(c.app.redisReceived(channelS), 1, 'C starts receiving S once a client joins');
  t.equal(gotC[gotC.length - 1]!.processInfo.uptime, N);

  // And stops again when its last client leaves.
  const left = await emitAck<{ ok: boolean; wasSubscribed: boolean }>(cc, 'unsubscribe-server-metrics', { serverId: 'S' });
  t.same([left.ok, left.wasSubscribed], [true, true]);
  await waitFor(async () => /:2\r\n$/.test(await redis.command('PUBSUB', 'SHARDNUMSUB', channelS)), { message: 'C to unsubscribe from S' });
  await collector.sample('S', N + 1);
  await waitFor(() => gotA.length === N + 2, { message: 'A to get the last sample' });
  t.equal(c.app.redisReceived(channelS), 1, 'C receives nothing for S after its last client left');
});
