// Contract: what BatchWriter publishes is understood by the real @socket.io/redis-adapter sharded
// adapter in dynamic mode. If an upgrade changes the adapter's wire format, this fails.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { NAMESPACE, Keys, metricsRoom } from '@vigil/protocol';
import { startRedis, waitFor, type RedisProcess } from '@vigil/testkit';
import { BatchWriter, adapterChannel, broadcastFrame, closeRedis, createRedis, positionInFrame, positionMsInFrame, type AppendOp } from '../src/index.js';

type Node = { io: Server; port: number; sub: ReturnType<typeof createRedis>; perChannel: Map<string, number>; frames: Buffer[]; close(): Promise<void> };

async function startNode(redis: RedisProcess): Promise<Node> {
  const pub = createRedis(redis.url, 'publisher');
  const sub = createRedis(redis.url, 'subscriber');
  const perChannel = new Map<string, number>();
  const frames: Buffer[] = [];
  sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
    frames.push(message);
    const c = channel.toString();
    perChannel.set(c, (perChannel.get(c) ?? 0) + 1);
  });
  const http = createServer();
  const io = new Server(http);
  io.of(NAMESPACE).adapter; // create the namespace before the adapter is set
  io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }));
  io.of(NAMESPACE).on('connection', (socket) => {
    socket.on('join', async (room: string, ack: () => void) => {
      await socket.join(room);
      ack();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    io,
    port: (http.address() as AddressInfo).port,
    sub,
    perChannel,
    frames,
    async close() {
      await io.close();
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    },
  };
}

function client(port: number): ClientSocket {
  return connect(`http://127.0.0.1:${port}${NAMESPACE}`, { transports: ['websocket'], forceNew: true });
}

function appendFor(serverId: string, n: number): AppendOp {
  const room = metricsRoom(serverId);
  return {
    stream: Keys.metrics(serverId),
    maxLen: 1000,
    latestKey: Keys.latest(serverId),
    body: JSON.stringify({ serverId, n }),
    frame: broadcastFrame('test-collector', NAMESPACE, room, 'process:info'),
  };
}

t.test('broadcasts written by BatchWriter reach every client in the room once, in order', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const a = await startNode(redis);
  const b = await startNode(redis);
  const c = await startNode(redis);
  const clients = [client(a.port), client(b.port), client(c.port)];
  t.teardown(async () => {
    clients.forEach((s) => s.close());
    await Promise.all([a.close(), b.close(), c.close()]);
  });
  const got: Array<Array<{ n: number; position: string }>> = [[], [], []];
  clients.forEach((s, i) => s.on('process:info', (p: { n: number; position: string }) => got[i]!.push(p)));
  // a and b watch S1; c watches nothing.
  await Promise.all(clients.slice(0, 2).map((s) => s.timeout(5000).emitWithAck('join', metricsRoom('S1'))));
  await clients[2]!.timeout(5000).emitWithAck('join', metricsRoom('S2'));

  const writerRedis = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(writerRedis));
  const writer = new BatchWriter(writerRedis);
  const N = 50;
  const positions: string[] = [];
  for (let n = 0; n < N; n++) positions.push(...(await writer.write({ appends: [appendFor('S1', n)], registry: [], heartbeats: [] })));

  await waitFor(() => got[0]!.length >= N && got[1]!.length >= N, { message: 'both clients to get all broadcasts' });
  for (const i of [0, 1]) {
    t.same(got[i]!.map((p) => p.n), [...Array(N).keys()], `client ${i} got each broadcast once, in order`);
    t.same(got[i]!.map((p) => p.position), positions, `client ${i} saw the stream ids as positions`);
  }
  t.same(a.frames.map(positionInFrame), positions, 'each raw frame gives its position without being parsed');
  t.same(
    a.frames.map(positionMsInFrame),
    positions.map((p) => Number(p.split('-')[0])),
    'and the milliseconds part of it',
  );
  t.equal(got[2]!.length, 0, 'the client outside the room got nothing');
  t.equal(c.perChannel.get(adapterChannel(NAMESPACE, metricsRoom('S1'))) ?? 0, 0, 'the node with nobody in S1 received no Redis message for S1');
  t.equal(a.perChannel.get(adapterChannel(NAMESPACE, metricsRoom('S1'))), N, 'a node with a client in S1 received each message once');
  t.match(await redis.command('PUBSUB', 'SHARDNUMSUB', adapterChannel(NAMESPACE, metricsRoom('S1'))), /:2\r\n$/, 'two nodes subscribed to S1');
  t.match(await redis.command('GET', Keys.latest('S1')), new RegExp(`"position":"${positions[N - 1]}"`), 'latest holds the newest position');
  t.match(await redis.command('XLEN', Keys.metrics('S1')), /^:50/, 'history holds every entry');
});

t.test('a node starts receiving when its first client joins the room', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const node = await startNode(redis);
  const s = client(node.port);
  t.teardown(async () => {
    s.close();
    await node.close();
  });
  const writerRedis = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(writerRedis));
  const writer = new BatchWriter(writerRedis);
  const got: number[] = [];
  s.on('process:info', (p: { n: number }) => got.push(p.n));
  await waitFor(() => s.connected);
  await writer.write({ appends: [appendFor('S3', 0)], registry: [], heartbeats: [] });
  await s.timeout(5000).emitWithAck('join', metricsRoom('S3'));
  await writer.write({ appends: [appendFor('S3', 1)], registry: [], heartbeats: [] });
  await waitFor(() => got.length === 1);
  t.same(got, [1], 'only what was published after joining arrives');
  t.equal(node.perChannel.get(adapterChannel(NAMESPACE, metricsRoom('S3'))), 1);
});

t.test('frames without a position: none is read from them', async (t) => {
  const frame = broadcastFrame('test-collector', NAMESPACE, metricsRoom('S4'), 'process:info');
  const wrap = (payload: string) => Buffer.from(frame.prefix + payload + frame.suffix);
  t.equal(positionInFrame(wrap('{"serverId":"S4"}')), null, 'no position');
  t.equal(positionMsInFrame(wrap('{"serverId":"S4"}')), null, 'no milliseconds either');
  t.equal(positionMsInFrame(wrap('{"position":"x-1"}')), null, 'a position that does not start with digits gives no milliseconds');
  t.equal(positionMsInFrame(wrap('{"position":"17-3"}')), 17, 'digits up to the dash');
});
