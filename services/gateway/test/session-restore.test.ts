// A client that never re-sends its subscriptions (like the earlier dashboard, which subscribed
// once when a page mounted) gets its rooms back after reconnecting to another gateway, and the
// log lines written while it was away.
import t from 'tap';
import { io as connect, type Socket } from 'socket.io-client';
import { ServerEvents, comparePositions, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { startStack, type RunningGateway } from './helpers.js';

function seedClient(url: string, auth?: Record<string, unknown>): Socket {
  // The earlier dashboard's options.
  return connect(`${url}/monitoring`, {
    transports: ['websocket', 'polling'],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    ...(auth ? { auth } : {}),
  });
}

async function gatewayOf(c: Socket, gws: RunningGateway[]): Promise<RunningGateway> {
  return waitFor(() => gws.find((g) => g.app.io.of('/monitoring').sockets.has(c.id ?? '')), { message: 'the gateway the client is on' });
}

t.test('rooms and missed log lines come back on another gateway, without re-subscribing', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const { collector } = stack;
  const [a, b] = stack.pair();
  await collector.register('S');
  const lb = await stack.balancer();
  const c = seedClient(lb.url);
  t.teardown(() => c.close());
  const infos: ProcessInfoEvent[] = [];
  const lines: ProcessLogsEvent[] = [];
  c.on(ServerEvents.processInfo, (e: ProcessInfoEvent) => infos.push(e));
  c.on(ServerEvents.processLogs, (e: ProcessLogsEvent) => lines.push(e));
  let subscribes = 0;
  c.once('connect', () => {
    subscribes++;
    c.emit('subscribe-server-metrics', { serverId: 'S', interval: 5000 });
    c.emit('subscribe-server-logs', { serverId: 'S', level: 'info' });
  });
  await waitFor(() => c.connected);
  const first = await gatewayOf(c, [a, b]);
  const other = first === a ? b : a;
  await waitFor(async () => first.app.io.of('/monitoring').sockets.get(c.id!)?.rooms.size === 6, { message: 'subscribed' }); // own + metrics + info, warn, error, fatal
  const before = await collector.lines('S', [{ level: 'info', message: 'before' }]);
  await waitFor(() => lines.length === 1);

  // The gateway goes away; lines are written while the client has no gateway.
  lb.setBackends([other.port]);
  await first.close();
  await waitFor(() => !c.connected, { message: 'client disconnected' });
  const whileAway = await collector.lines('S', [
    { level: 'info', message: 'away 1' },
    { level: 'debug', message: 'below the level' },
    { level: 'error', message: 'away 2' },
  ]);
  await waitFor(() => c.connected, { timeoutMs: 10_000, message: 'reconnected' });
  t.equal((await gatewayOf(c, [other])) === other, true, 'the client is on the other gateway');
  t.equal(c.recovered, true, 'socket.io-client reports its state as recovered');

  await waitFor(() => lines.some((l) => l.logData.message === 'away 2'), { timeoutMs: 5000, message: 'missed lines replayed' });
  const after = await collector.lines('S', [{ level: 'warn', message: 'after' }]);
  await collector.sample('S', 42);
  await waitFor(() => lines.some((l) => l.logData.message === 'after') && infos.some((i) => i.processInfo.uptime === 42), { message: 'live data again' });
  t.equal(subscribes, 1, 'the client subscribed once, never again');
  const unique = new Map(lines.map((l) => [l.position, l]));
  t.same(
    [...unique.keys()].sort(comparePositions),
    [before[0], whileAway[0], whileAway[2], after[0]],
    'every line at info and above arrived: before, while away, and after (none below the level)',
  );
  t.comment(`${lines.length - unique.size} line(s) were sent twice across the reconnect; each carries its position`);
});

t.test('a client that asks for no restore, or says goodbye, does not get rooms back', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const [a, b] = stack.pair();
  await stack.collector.register('S');
  const lb = await stack.balancer();
  const c = seedClient(lb.url, { vigilRestore: false });
  t.teardown(() => c.close());
  c.once('connect', () => c.emit('subscribe-server-metrics', { serverId: 'S' }));
  await waitFor(() => c.connected);
  const first = await gatewayOf(c, [a, b]);
  await waitFor(() => first.app.io.of('/monitoring').sockets.get(c.id!)?.rooms.size === 2);
  const other = first === a ? b : a;
  lb.setBackends([other.port]);
  first.app.io.of('/monitoring').sockets.get(c.id!)!.conn.close();
  await waitFor(() => other.app.io.of('/monitoring').sockets.size === 1, { message: 'reconnected to the other gateway' });
  const socket = [...other.app.io.of('/monitoring').sockets.values()][0]!;
  t.same([...socket.rooms], [socket.id], 'no room was restored for a client that opted out');
});

t.test('sessions are written again when Redis comes back empty', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const { redis, collector } = stack;
  const [a, b] = stack.pair();
  await collector.register('S');
  const lb = await stack.balancer();
  const c = seedClient(lb.url);
  t.teardown(() => c.close());
  const infos: ProcessInfoEvent[] = [];
  c.on(ServerEvents.processInfo, (e: ProcessInfoEvent) => infos.push(e));
  c.once('connect', () => c.emit('subscribe-server-metrics', { serverId: 'S' }));
  await waitFor(() => c.connected);
  const first = await gatewayOf(c, [a, b]);
  await waitFor(() => first.app.io.of('/monitoring').sockets.get(c.id!)?.rooms.size === 2, { message: 'subscribed' });
  const sessions = async () => (await redis.command('KEYS', 'vigil:session:*')).split('\r\n').filter((l) => l.startsWith('vigil:')).length;
  await waitFor(async () => (await sessions()) === 1, { message: 'the session in Redis' });

  await redis.stop();
  await redis.start(); // empty: no persistence
  t.equal(await sessions(), 0, 'Redis came back without the session');
  await waitFor(async () => (await sessions()) === 1, { timeoutMs: 10_000, message: 'the gateway to write it again' });

  const other = first === a ? b : a;
  lb.setBackends([other.port]);
  await first.close();
  await waitFor(async () => other.app.io.of('/monitoring').sockets.size === 1, { timeoutMs: 10_000, message: 'reconnected to the other gateway' });
  infos.length = 0;
  await waitFor(
    async () => {
      await collector.sample('S', 7);
      return infos.some((i) => i.processInfo.uptime === 7);
    },
    { timeoutMs: 10_000, intervalMs: 250, message: 'samples without re-subscribing' },
  );
  t.pass('the client got its room back on the other gateway after Redis lost everything');
});
