// BatchWriter, byte for byte: what one write stores, keeps as latest and broadcasts, for a batch
// mixing kinds of events (bounds, with and without a latest slot, events, senders, a room JSON
// must escape). The script sends what events share once per batch; this holds every broadcast
// equal to the frame it was built from and every stored entry equal to its body.
import t from 'tap';
import { Keys, NAMESPACE, STREAM_FIELD, metricsRoom } from '@vigil/protocol';
import { REDIS_KINDS, startRedis, startTestRedis, waitFor } from '@vigil/testkit';
import { BatchWriter, ByteLines, bodyText, broadcastFrame, closeRedis, createRedis, type AppendOp, type EventBody } from '../src/index.js';

function op(serverId: string, n: number, o: { maxLen?: number; latest?: boolean; uid?: string; event?: string; room?: string; asBytes?: boolean } = {}): AppendOp {
  const json = JSON.stringify({ serverId, n, text: 'quotes " and \\ and é' });
  return {
    stream: Keys.metrics(serverId),
    maxLen: o.maxLen ?? 1000,
    latestKey: o.latest === false ? null : Keys.latest(serverId),
    body: o.asBytes ? new Written(json) : json,
    frame: broadcastFrame(o.uid ?? 'writer-test', NAMESPACE, o.room ?? metricsRoom(serverId), o.event ?? 'process:info'),
  };
}

/** A body that writes itself as bytes, in pieces, as the collector's samples do. */
class Written implements EventBody {
  readonly sizeHint: number;
  readonly #json: string;

  constructor(json: string) {
    this.#json = json;
    this.sizeHint = json.length;
  }

  writeTo(out: ByteLines): void {
    const half = Math.floor(this.#json.length / 2);
    out.string(this.#json.slice(0, half));
    out.bytes(Buffer.from(this.#json.slice(half)));
  }
}

const text = (o: AppendOp): string => bodyText(o.body);

for (const kind of REDIS_KINDS) t.test(`${kind}: a mixed batch: each event stored, kept as latest when asked, and broadcast exactly as its frame says`, async (t) => {
  const redis = await startTestRedis(kind);
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command', { clusterNodes: redis.clusterNodes });
  const sub = createRedis(redis.url, 'subscriber', { clusterNodes: redis.clusterNodes });
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
  const ops = [
    op('a', 0),
    op('b', 1),
    op('a', 2, { latest: false, maxLen: 50, event: 'server:statusChanged' }),
    op('c', 3, { uid: 'another-sender' }),
    op('d', 4, { room: 'odd "room" \\ \u0001' }),
    op('b', 5),
    op('e', 6, { maxLen: 7 }),
    op('a', 7, { asBytes: true }),
    op('f', 8, { asBytes: true, room: 'odd "room" \\ \u0001' }),
  ];
  const channels = [...new Set(ops.map((o) => o.frame.channel))];
  const got = new Map<string, string[]>();
  sub.on('smessage', (channel: string, message: string) => got.set(channel, [...(got.get(channel) ?? []), message]));
  // One at a time: on a cluster each channel is subscribed on the node that serves its slot.
  for (const channel of channels) await sub.ssubscribe(channel);

  const positions = await new BatchWriter(r).write({ appends: ops, registry: [], heartbeats: [] });
  t.equal(positions.length, ops.length, 'a position per event');
  await waitFor(() => [...got.values()].reduce((n, m) => n + m.length, 0) === ops.length, { message: 'every broadcast' });

  const expected = new Map<string, string[]>();
  ops.forEach((o, i) => {
    const withPosition = `${text(o).slice(0, -1)},"position":"${positions[i]}"}`;
    expected.set(o.frame.channel, [...(expected.get(o.frame.channel) ?? []), o.frame.prefix + withPosition + o.frame.suffix]);
  });
  t.same(Object.fromEntries(got), Object.fromEntries(expected), 'each broadcast is its frame around the body with its position, on its channel');
  for (const [i, o] of ops.entries()) {
    const entries = (await r.xrange(o.stream, positions[i]!, positions[i]!)) as Array<[string, string[]]>;
    t.same(entries, [[positions[i], [STREAM_FIELD, text(o)]]], `event ${i} stored as sent`);
  }
  t.equal(await r.get(Keys.latest('a')), `${text(ops[7]!).slice(0, -1)},"position":"${positions[7]}"}`, 'latest: the newest event that asked for it (one written as bytes)');
  t.equal(await r.get(Keys.latest('b')), `${text(ops[5]!).slice(0, -1)},"position":"${positions[5]}"}`);
});

// On a cluster, 'a' and 'b' are in different slots: the refused event is in another group than the good one.
for (const kind of REDIS_KINDS) t.test(`${kind}: a body that is not a JSON object is refused before anything is written`, async (t) => {
  const redis = await startTestRedis(kind);
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command', { clusterNodes: redis.clusterNodes });
  t.teardown(() => closeRedis(r));
  await t.rejects(new BatchWriter(r).write({ appends: [op('a', 0), { ...op('b', 1), body: '[1]' }], registry: [], heartbeats: [] }), /JSON object/);
  // The same for bodies written as bytes: not an object, or over two lines.
  await t.rejects(new BatchWriter(r).write({ appends: [op('a', 0), { ...op('b', 1), body: new Written('[1]') }], registry: [], heartbeats: [] }), /JSON object/);
  await t.rejects(new BatchWriter(r).write({ appends: [op('a', 0), { ...op('b', 1), body: new Written('{"n":\n1}') }], registry: [], heartbeats: [] }), /one line/);
  t.equal(await r.exists(Keys.metrics('a')), 0);
});

t.test('one writer, many writes of changing size (a refused one and a lost connection among them): each stores exactly its own events', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  const writer = new BatchWriter(r);
  // Big, small, big again: the buffers a write is built in are used again, and must hold nothing of the last one.
  const sizes = [400, 3, 1, 250, 0, 40];
  let n = 0;
  for (const [round, size] of sizes.entries()) {
    const ops = Array.from({ length: size }, (_, i) => op(`r${i % 4}`, n++, { asBytes: i % 2 === 0 }));
    const heartbeats = Array.from({ length: size }, (_, i) => ({ serverId: `hb-${round}-${i}`, at: 1_764_579_600_000 + round }));
    const positions = await writer.write({ appends: ops, registry: [], heartbeats });
    t.equal(positions.length, size, `write ${round}: a position for each of its ${size} events`);
    for (const [i, o] of ops.entries()) {
      const entries = (await r.xrange(o.stream, positions[i]!, positions[i]!)) as Array<[string, string[]]>;
      if (entries[0]?.[1][1] !== text(o)) t.fail(`write ${round}: event ${i} stored as sent`);
    }
    if (round === 2) {
      // A refused write in between, then one while Redis is away: neither leaves anything for the next.
      await t.rejects(writer.write({ appends: [op('r0', -1), { ...op('r1', -2), body: new Written('{"n":\n1}') }], registry: [], heartbeats: [] }), /one line/);
      await redis.stop();
      await t.rejects(writer.write({ appends: [op('r0', -3)], registry: [], heartbeats: [] }));
      await redis.start();
      await waitFor(async () => (await r.ping().catch(() => null)) === 'PONG', { message: 'the connection to come back' });
    }
  }
  const stored = (await Promise.all(['r0', 'r1', 'r2', 'r3'].map((id) => r.xlen(Keys.metrics(id))))).reduce((a, b) => a + b, 0);
  t.equal(stored, sizes.slice(3).reduce((a, b) => a + b, 0), 'after the restart (Redis keeps nothing here): exactly the events written since, each once');
  t.equal(await r.zcard(Keys.heartbeats), sizes.slice(3).reduce((a, b) => a + b, 0), 'and exactly their heartbeats');
});

t.test('without positions asked back: the same entries, latest values and broadcasts, and no positions returned', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  const sub = createRedis(redis.url, 'subscriber');
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
  const ops = [op('a', 0), op('b', 1, { latest: false, maxLen: 5 }), op('a', 2), op('c', 3, { room: 'spaced room é' })];
  const got: string[] = [];
  sub.on('smessage', (_channel: string, message: string) => got.push(message));
  await sub.ssubscribe(...new Set(ops.map((o) => o.frame.channel)));

  t.same(await new BatchWriter(r).write({ appends: ops, registry: [], heartbeats: [] }, { positions: false }), []);
  await waitFor(() => got.length === ops.length, { message: 'every broadcast' });
  for (const [i, o] of ops.entries()) {
    const stored = (await r.xrange(o.stream, '-', '+')).filter(([, f]) => f[1] === o.body);
    t.equal(stored.length, 1, `event ${i} stored once`);
    const [position, fields] = stored[0]!;
    t.same(fields, [STREAM_FIELD, o.body], `event ${i} stored as sent`);
    t.ok(got.includes(o.frame.prefix + `${text(o).slice(0, -1)},"position":"${position}"}` + o.frame.suffix), `event ${i} broadcast with its position`);
  }
  t.equal(await r.exists(Keys.latest('b')), 0, 'no latest slot when none was asked for');
  t.match(await r.get(Keys.latest('a')), /"n":2,/);
});

t.test('a body spread over lines is refused before anything is written', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  await t.rejects(new BatchWriter(r).write({ appends: [op('a', 0), { ...op('b', 1), body: '{\n"n": 1\n}' }], registry: [], heartbeats: [] }), /one line/);
  t.equal(await r.exists(Keys.metrics('a')), 0);
});

t.test('heartbeats: every server gets its own time, across runs of one time and more members than one ZADD takes', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  // 1,200 at one time (more than one ZADD call of the script), then 3 at another, then 1 at the first again.
  const heartbeats = [
    ...Array.from({ length: 1200 }, (_, i) => ({ serverId: `s${i}`, at: 1_764_579_600_000 })),
    { serverId: 'late-a', at: 1_764_579_600_200 },
    { serverId: 'late-b', at: 1_764_579_600_200 },
    { serverId: 'spaced id é', at: 1_764_579_600_200 },
    { serverId: 's0', at: 1_764_579_600_400 },
  ];
  t.same(await new BatchWriter(r).write({ appends: [], registry: [], heartbeats }), []);
  t.equal(await r.zcard(Keys.heartbeats), 1203, 'one member per server');
  t.equal(await r.zscore(Keys.heartbeats, 's1'), '1764579600000');
  t.equal(await r.zscore(Keys.heartbeats, 's1199'), '1764579600000', 'the members past the first ZADD too');
  t.equal(await r.zscore(Keys.heartbeats, 'late-b'), '1764579600200');
  t.equal(await r.zscore(Keys.heartbeats, 'spaced id é'), '1764579600200');
  t.equal(await r.zscore(Keys.heartbeats, 's0'), '1764579600400', 'a later heartbeat of the same server wins, as with ZADD');
  await t.rejects(new BatchWriter(r).write({ appends: [], registry: [], heartbeats: [{ serverId: 'a\nb', at: 1 }] }), /one line/);
  // A bad time after good ones: refused before anything is sent, so the good ones are not added either.
  await t.rejects(
    new BatchWriter(r).write({ appends: [], registry: [], heartbeats: [{ serverId: 'before-nan', at: 1 }, { serverId: 'nan', at: Number.NaN }] }),
    /finite number/,
  );
  t.equal(await r.zscore(Keys.heartbeats, 'before-nan'), null, 'nothing of a refused batch is written');
});

t.test('events whose text is not ASCII are stored and broadcast byte for byte, however many there are', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  // Multi-byte text late in a large batch: the bytes outgrow a buffer sized by characters.
  const ops = Array.from({ length: 300 }, (_, i) => ({ ...op(`m${i % 3}`, i), body: JSON.stringify({ serverId: `m${i % 3}`, n: i, text: i < 200 ? 'ascii' : '日本語 ✓ 😀'.repeat(20) }) }));
  const positions = await new BatchWriter(r).write({ appends: ops, registry: [], heartbeats: [] });
  t.equal(positions.length, ops.length);
  for (const [i, o] of ops.entries()) {
    const entries = (await r.xrange(o.stream, positions[i]!, positions[i]!)) as Array<[string, string[]]>;
    if (entries[0]?.[1][1] !== o.body) t.fail(`event ${i} stored as sent`);
  }
  t.equal(await r.get(Keys.latest('m2')), `${text(ops[299]!).slice(0, -1)},"position":"${positions[299]}"}`);
});

t.test('Redis forgets the scripts (SCRIPT FLUSH, as after a restart): the next write still stores every event and heartbeat once', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  const admin = createRedis(redis.url, 'command');
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(admin)]));
  const cachedScripts = async () => Number(/number_of_cached_scripts:(\d+)/.exec(await admin.info('memory'))?.[1]);
  const writer = new BatchWriter(r);
  const at = 1_764_579_600_000;
  await writer.write({ appends: [op('a', 0)], registry: [], heartbeats: [{ serverId: 'a', at }] });
  t.equal(await cachedScripts(), 2, 'Redis keeps both scripts after a first write');
  await admin.script('FLUSH');
  t.equal(await cachedScripts(), 0, 'and forgets them');
  const positions = await writer.write({ appends: [op('a', 1), op('b', 2)], registry: [], heartbeats: [{ serverId: 'b', at: at + 1 }] });
  t.equal(positions.length, 2, 'a position for each event');
  t.equal(await r.xlen(Keys.metrics('a')), 2, 'a: both events, each once');
  t.equal(await r.xlen(Keys.metrics('b')), 1, 'b: its event, once');
  t.equal(await r.zscore(Keys.heartbeats, 'b'), String(at + 1), 'the heartbeat too');
  t.equal(await cachedScripts(), 2, 'Redis keeps both scripts again');
});
