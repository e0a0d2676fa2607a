// BatchWriter on a Redis Cluster with one master away (and no replica taking over): the batch
// fails, what reached the other masters is stored and broadcast; when the master is back, writing
// the same batch again stores every event exactly once, and the broadcasts that waited go out once.
import t, { type Test } from 'tap';
import { Keys, NAMESPACE, ServerEvents, metricsRoom } from '@vigil/protocol';
import { startRedisCluster, waitFor } from '@vigil/testkit';
import { BatchWriter, ShardPublisher, broadcastFrame, closeRedis, createRedis, keySlot, type AppendOp } from '../src/index.js';

/** Three masters, no replica (a master killed stays away until started again), and a command and a subscriber client. */
async function clusterWithClients(t: Test) {
  const cluster = await startRedisCluster({ replicasPerMaster: 0, nodeTimeoutMs: 60_000 });
  t.teardown(() => cluster.close());
  const url = `redis://${cluster.nodes[0]!.address}`;
  const r = createRedis(url, 'command', { clusterNodes: cluster.seeds });
  const sub = createRedis(url, 'subscriber', { clusterNodes: cluster.seeds });
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
  return { cluster, r, sub };
}

t.test('a batch across three masters, one of them down: a retry stores nothing twice and broadcasts each event once', async (t) => {
  const { cluster, r, sub } = await clusterWithClients(t);

  const ids = Array.from({ length: 12 }, (_, i) => `w-${i}`);
  const owner = new Map(await Promise.all(ids.map(async (id) => [id, (await cluster.masterOfSlot(keySlot(Keys.metrics(id)))).address] as const)));
  const down = await cluster.masterOfSlot(keySlot(Keys.metrics(ids[0]!)));
  const onDown = ids.filter((id) => owner.get(id) === down.address);
  t.ok(onDown.length > 0 && onDown.length < ids.length, `${onDown.length} of ${ids.length} servers on the master that goes away`);

  const heard = new Map<string, number>();
  sub.on('smessage', (channel: string) => heard.set(channel, (heard.get(channel) ?? 0) + 1));
  const frames = new Map(ids.map((id) => [id, broadcastFrame('t', NAMESPACE, metricsRoom(id), ServerEvents.processInfo)]));
  for (const f of frames.values()) await sub.ssubscribe(f.channel);
  await r.ping();

  const batch = {
    appends: ids.map((id): AppendOp => ({ stream: Keys.metrics(id), maxLen: 100, latestKey: Keys.latest(id), body: JSON.stringify({ serverId: id }), frame: frames.get(id)! })),
    registry: [],
    heartbeats: [],
  };
  const writer = new BatchWriter(r);
  await down.kill();
  const failingSince = Date.now();
  await t.rejects(writer.write(batch), { code: 'VIGIL_ERR_REDIS_WRITE_FAILED' }, 'the batch fails while a master is away');
  t.comment(`the write failed after ${Date.now() - failingSince} ms`);
  t.ok(writer.broadcasts.pending > 0, `${writer.broadcasts.pending} broadcasts wait for their master`);

  const backSince = Date.now();
  await down.start();
  await cluster.waitHealthy();
  await waitFor(async () => (await r.get(Keys.latest(onDown[0]!)).catch(() => 'down')) !== 'down', { timeoutMs: 15_000, message: 'the client to reach the master again' });
  t.comment(`the master was back and reached after ${Date.now() - backSince} ms`);
  const positions = await writer.write(batch);
  t.equal(positions.length, ids.length, 'the retry succeeds, with a position per event');
  for (const id of ids) t.equal(await r.xlen(Keys.metrics(id)), 1, `${id}: stored once`);
  await waitFor(() => ids.every((id) => heard.get(frames.get(id)!.channel) === 1), { timeoutMs: 10_000, message: 'one broadcast per event' });
  t.same(writer.broadcasts, { pending: 0, dropped: 0 }, 'nothing waits any more');
  // A later write is broadcast after, never before, what waited.
  await writer.write({ ...batch, appends: batch.appends.map((op) => ({ ...op })) });
  await waitFor(() => ids.every((id) => heard.get(frames.get(id)!.channel) === 2), { timeoutMs: 10_000, message: 'the next write broadcast once too' });
});

t.test('two broadcasts that overlap while their master is away both wait, and both go out once it is back', async (t) => {
  const { cluster, r, sub } = await clusterWithClients(t);
  // Two channels of the one master that goes away.
  const channelOf = (id: string) => broadcastFrame('t', NAMESPACE, metricsRoom(id), ServerEvents.processInfo).channel;
  const down = await cluster.masterOfSlot(keySlot(channelOf('o-0')));
  let second = '';
  for (let i = 1; i < 100 && second === ''; i++) if ((await cluster.masterOfSlot(keySlot(channelOf(`o-${i}`)))) === down) second = `o-${i}`;
  t.not(second, '', 'a second channel on the same master');
  const onDown = [channelOf('o-0'), channelOf(second)];
  const heard = new Map<string, number>();
  sub.on('smessage', (channel: string) => heard.set(channel, (heard.get(channel) ?? 0) + 1));
  for (const c of onDown) await sub.ssubscribe(c);
  await r.ping();

  const publisher = new ShardPublisher(r);
  await down.kill();
  await Promise.all(onDown.map((channel, i) => publisher.publish([{ channel, stream: Keys.metrics(`o-${i}`), position: '1-0', message: 'm' }])));
  t.equal(publisher.pending, onDown.length, 'each overlapping call’s broadcast waits (none overwritten by the other)');

  await down.start();
  await cluster.waitHealthy();
  await waitFor(
    async () => {
      await publisher.publish([]);
      return publisher.pending === 0;
    },
    { timeoutMs: 15_000, message: 'the waiting broadcasts to go out once the master is back' },
  );
  await waitFor(() => onDown.every((c) => heard.get(c) === 1), { timeoutMs: 10_000, message: 'each heard once' });
});
