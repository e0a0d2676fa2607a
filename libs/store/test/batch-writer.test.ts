// BatchWriter, byte for byte: what one write stores, keeps as latest and broadcasts, for a batch
// mixing kinds of events (bounds, with and without a latest slot, events, senders, a room JSON
// must escape). The script sends what events share once per batch; this holds every broadcast
// equal to the frame it was built from and every stored entry equal to its body.
import t from 'tap';
import { Keys, NAMESPACE, STREAM_FIELD, metricsRoom } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type AppendOp } from '../src/index.js';

function op(serverId: string, n: number, o: { maxLen?: number; latest?: boolean; uid?: string; event?: string; room?: string } = {}): AppendOp {
  return {
    stream: Keys.metrics(serverId),
    maxLen: o.maxLen ?? 1000,
    latestKey: o.latest === false ? null : Keys.latest(serverId),
    body: JSON.stringify({ serverId, n, text: 'quotes " and \\ and é' }),
    frame: broadcastFrame(o.uid ?? 'writer-test', NAMESPACE, o.room ?? metricsRoom(serverId), o.event ?? 'process:info'),
  };
}

t.test('a mixed batch: each event stored, kept as latest when asked, and broadcast exactly as its frame says', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  const sub = createRedis(redis.url, 'subscriber');
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
  const ops = [
    op('a', 0),
    op('b', 1),
    op('a', 2, { latest: false, maxLen: 50, event: 'server:statusChanged' }),
    op('c', 3, { uid: 'another-sender' }),
    op('d', 4, { room: 'odd "room" \\ \u0001' }),
    op('b', 5),
    op('e', 6, { maxLen: 7 }),
  ];
  const channels = [...new Set(ops.map((o) => o.frame.channel))];
  const got = new Map<string, string[]>();
  sub.on('smessage', (channel: string, message: string) => got.set(channel, [...(got.get(channel) ?? []), message]));
  await sub.ssubscribe(...channels);

  const positions = await new BatchWriter(r).write({ appends: ops, registry: [], heartbeats: [] });
  t.equal(positions.length, ops.length, 'a position per event');
  await waitFor(() => [...got.values()].reduce((n, m) => n + m.length, 0) === ops.length, { message: 'every broadcast' });

  const expected = new Map<string, string[]>();
  ops.forEach((o, i) => {
    const withPosition = `${o.body.slice(0, -1)},"position":"${positions[i]}"}`;
    expected.set(o.frame.channel, [...(expected.get(o.frame.channel) ?? []), o.frame.prefix + withPosition + o.frame.suffix]);
  });
  t.same(Object.fromEntries(got), Object.fromEntries(expected), 'each broadcast is its frame around the body with its position, on its channel');
  for (const [i, o] of ops.entries()) {
    const entries = (await r.xrange(o.stream, positions[i]!, positions[i]!)) as Array<[string, string[]]>;
    t.same(entries, [[positions[i], [STREAM_FIELD, o.body]]], `event ${i} stored as sent`);
  }
  t.equal(await r.get(Keys.latest('a')), `${ops[0]!.body.slice(0, -1)},"position":"${positions[0]}"}`, 'latest: the newest event that asked for it');
  t.equal(await r.get(Keys.latest('b')), `${ops[5]!.body.slice(0, -1)},"position":"${positions[5]}"}`);
});

t.test('a body that is not a JSON object is refused before anything is written', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  await t.rejects(new BatchWriter(r).write({ appends: [op('a', 0), { ...op('b', 1), body: '[1]' }], registry: [], heartbeats: [] }), /JSON object/);
  t.equal(await r.exists(Keys.metrics('a')), 0);
});
