// A client that never re-sends its subscriptions (like the earlier dashboard, which subscribed
// once when a page mounted) gets its rooms back after reconnecting to another gateway, and the
// log lines written while it was away.
import t from 'tap';
import { io as connect, type Socket } from 'socket.io-client';
import { ServerEvents, comparePositions, metricsRoom, sessionKey, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { sessionIdOf } from '../src/sessions/client-sessions.js';
import { ALL_ACCESS_TOKEN, collect, emitAck, startStack, type RunningGateway } from './helpers.js';

function seedClient(url: string, auth?: Record<string, unknown>): Socket {
  // The earlier dashboard's options.
  return connect(`${url}/monitoring`, {
    transports: ['websocket', 'polling'],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    auth: { token: ALL_ACCESS_TOKEN, ...auth },
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
  t.ok(other.app.io.of('/monitoring').sockets.has(c.id!), 'the client is on the other gateway');
  t.equal(c.recovered, true, 'socket.io-client reports its state as recovered');

  await waitFor(() => lines.some((l) => l.logData.message === 'away 2'), { timeoutMs: 5000, message: 'missed lines replayed' });
  const after = await collector.lines('S', [{ level: 'warn', message: 'after' }]);
  await collector.sample('S', 42);
  await waitFor(() => lines.some((l) => l.logData.message === 'after') && infos.some((i) => i.processInfo.uptime === 42), { message: 'live data again' });
  // One more of each behind them: whatever was coming twice on the same rooms has come by then.
  const barrier = await collector.lines('S', [{ level: 'warn', message: 'barrier' }]);
  await collector.sample('S', 43);
  await waitFor(() => lines.some((l) => l.logData.message === 'barrier') && infos.some((i) => i.processInfo.uptime === 43), { message: 'the barrier' });
  t.equal(infos.filter((i) => i.processInfo.uptime === 42).length, 1, 'a sample written after the restore arrives once');
  t.equal(lines.filter((l) => l.logData.message === 'after').length, 1, 'a line written after the restore arrives once');
  t.equal(lines.filter((l) => l.logData.message === 'below the level').length, 0, 'no line below the subscribed level, replayed or live');
  t.equal(subscribes, 1, 'the client subscribed once, never again');
  const unique = new Map(lines.map((l) => [l.position, l]));
  t.same(
    [...unique.keys()].sort(comparePositions),
    [before[0], whileAway[0], whileAway[2], after[0], barrier[0]],
    'every line at info and above arrived: before, while away, after and the barrier (none below the level)',
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

  // The gateways may reconnect and write the session back before any check here could see the
  // empty keyspace, so what is asserted is that this is a new, empty server (not the keyspace).
  const runId = async () => /run_id:(\w+)/.exec(await redis.command('INFO', 'server'))?.[1];
  const before = await runId();
  await redis.stop();
  await redis.start(); // empty: no persistence
  const after = await runId();
  t.ok(before && after && before !== after, 'Redis came back as a new server, without the session (no persistence)');
  await waitFor(async () => (await sessions()) === 1, { timeoutMs: 10_000, message: 'the gateway to write it again' });

  const other = first === a ? b : a;
  lb.setBackends([other.port]);
  await first.close();
  const restored = await waitFor(() => (c.connected ? other.app.io.of('/monitoring').sockets.get(c.id!) : undefined), { timeoutMs: 10_000, message: 'reconnected to the other gateway' });
  t.equal(other.app.io.of('/monitoring').sockets.size, 1, 'the client is on the other gateway, alone');
  await waitFor(() => restored.rooms.has(metricsRoom('S')), { message: 'its room restored' });
  t.same([...restored.rooms].sort(), [c.id, metricsRoom('S')].sort(), 'the client holds exactly its room again, without re-subscribing');
  // The restore is over when the new gateway has written the session: samples from here on are live.
  const sessionGateway = () => stack.collector.redis.hget(sessionKey(sessionIdOf(restored)!), 'gw');
  await waitFor(async () => (await sessionGateway()) === other.app.gatewayId, { message: 'the restore to finish' });
  infos.length = 0;
  await collector.sample('S', 7);
  await collector.sample('S', 8);
  await waitFor(() => infos.some((i) => i.processInfo.uptime === 8), { message: 'samples without re-subscribing' });
  t.same(
    infos.map((i) => i.processInfo.uptime),
    [7, 8],
    'the client got its room back on the other gateway after Redis lost everything: each sample once, in order',
  );
});

t.test('a client that says goodbye loses its session; one that loses its transport keeps it', async (t) => {
  const stack = await startStack(t);
  const { gw, collector } = stack;
  const nsp = gw.app.io.of('/monitoring');
  const sessionExists = async (id: string) => (await collector.redis.exists(sessionKey(id))) === 1;
  await collector.register('S');
  const subscribed = async () => {
    const client = await stack.client();
    t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: 'S' }), { ok: true });
    const id = sessionIdOf(nsp.sockets.get(client.id!)!)!;
    await waitFor(() => sessionExists(id), { message: 'the session written to Redis' });
    return { client, id };
  };
  /** A new connection presenting a previous session id, as socket.io-client does on reconnect. */
  const comeBack = async (id: string) => {
    const client = await stack.client(gw, { auth: { pid: id } });
    return nsp.sockets.get(client.id!)!;
  };

  const leaving = await subscribed();
  leaving.client.disconnect(); // 'client namespace disconnect'
  await waitFor(async () => !(await sessionExists(leaving.id)), { message: 'the session deleted' });
  t.equal(await sessionExists(leaving.id), false, 'the session key is gone from Redis');
  const returning = await comeBack(leaving.id);
  t.not(sessionIdOf(returning), leaving.id, 'coming back with its old id gets a new session');
  t.same([...returning.rooms], [returning.id], 'and no room back');

  const cut = await subscribed();
  nsp.sockets.get(cut.client.id!)!.conn.close(); // 'transport close'
  await waitFor(() => !cut.client.connected, { message: 'the transport closed' });
  await waitFor(async () => (await collector.redis.hget(sessionKey(cut.id), 'left')) !== null, { message: 'the session marked left' });
  t.equal(await sessionExists(cut.id), true, 'the session of a client that lost its transport stays');
  const resumed = await comeBack(cut.id);
  t.equal(sessionIdOf(resumed), cut.id, 'coming back with its id resumes the session');
  await waitFor(() => resumed.rooms.has(metricsRoom('S')), { message: 'its room back' });
  t.same([...resumed.rooms].sort(), [resumed.id, metricsRoom('S')].sort(), 'with exactly its room');
});

t.test('a session Redis is too slow to read at the handshake is read after connect: the client still gets its rooms', async (t) => {
  // What CPU starvation does to a gateway: the session read outlives the handshake's budget
  // (here Redis itself is paused; on a starved gateway the expired timer runs before the reply).
  const stack = await startStack(t);
  const { gw, redis, collector } = stack;
  await collector.register('S');
  const nsp = gw.app.io.of('/monitoring');
  const first = await stack.client();
  t.match(await emitAck(first, 'subscribe-server-metrics', { serverId: 'S' }), { ok: true });
  const id = sessionIdOf(nsp.sockets.get(first.id!)!)!;
  await waitFor(async () => (await collector.redis.exists(sessionKey(id))) === 1, { message: 'the session written to Redis' });
  nsp.sockets.get(first.id!)!.conn.close(); // 'transport close'
  await waitFor(() => !first.connected, { message: 'the transport closed' });

  await redis.command('CLIENT', 'PAUSE', '1600', 'ALL');
  const pausedAt = Date.now();
  const back = await stack.client(gw, { auth: { pid: id } });
  const infos = collect<ProcessInfoEvent>(back, ServerEvents.processInfo);
  const socket = nsp.sockets.get(back.id!)!;
  t.ok(Date.now() - pausedAt < 1600, 'the client was let in before Redis answered (the handshake does not wait for ever)');
  t.equal(sessionIdOf(socket), id, 'it keeps its session id: an unread session is not a missing one');
  await waitFor(() => socket.rooms.has(metricsRoom('S')), { timeoutMs: 10_000, message: 'its room back once Redis answers' });
  t.same([...socket.rooms].sort(), [socket.id, metricsRoom('S')].sort(), 'with exactly its room, without re-subscribing');
  await waitFor(async () => (await collector.redis.hget(sessionKey(id), 'gw')) === gw.app.gatewayId, { message: 'the session written by the gateway again' });
  infos.length = 0;
  await collector.sample('S', 9);
  await waitFor(() => infos.some((i) => i.processInfo.uptime === 9), { message: 'live samples again' });
  t.pass('the client receives again');
});

t.test('a room whose restore fails for a while is tried again, and kept in the session meanwhile', async (t) => {
  const stack = await startStack(t);
  const { gw, redis, collector } = stack;
  await collector.register('S');
  const nsp = gw.app.io.of('/monitoring');
  const first = await stack.client();
  t.match(await emitAck(first, 'subscribe-server-logs', { serverId: 'S', level: 'info' }), { ok: true });
  const id = sessionIdOf(nsp.sockets.get(first.id!)!)!;
  const storedRooms = async () => (await collector.redis.hget(sessionKey(id), 'rooms')) ?? '';
  await waitFor(async () => (await storedRooms()).includes('"logs"'), { message: 'the session written to Redis' });
  nsp.sockets.get(first.id!)!.conn.close();
  await waitFor(() => !first.connected, { message: 'the transport closed' });

  // The log history cannot be read for now (its stream's metadata refused by Redis itself), so
  // the restore of the log room fails: it must not be dropped.
  await redis.command('ACL', 'SETUSER', 'default', '-xinfo');
  t.teardown(() => redis.command('ACL', 'SETUSER', 'default', '+xinfo').catch(() => undefined));
  const back = await stack.client(gw, { auth: { pid: id } });
  const lines = collect<ProcessLogsEvent>(back, ServerEvents.processLogs);
  const socket = nsp.sockets.get(back.id!)!;
  // Redis's ACL log counts each refused read: wait for the gateway's second try, not for a time.
  const refusals = async () => Number(/count\r\n:(\d+)/.exec(await redis.command('ACL', 'LOG'))?.[1] ?? 0);
  await waitFor(async () => (await refusals()) >= 2, { timeoutMs: 10_000, message: 'the restore tried at least twice' });
  t.notOk([...socket.rooms].some((r) => r.startsWith('server-logs-')), 'the log room is not restored while its history cannot be read');
  t.match(await storedRooms(), /"logs"/, 'it is still in the session meanwhile');

  await redis.command('ACL', 'SETUSER', 'default', '+xinfo');
  await waitFor(() => [...socket.rooms].some((r) => r.startsWith('server-logs-S')), { timeoutMs: 10_000, message: 'the log room restored once the history can be read' });
  const [position] = await collector.lines('S', [{ level: 'warn', message: 'after the retry' }]);
  await waitFor(() => lines.some((l) => l.position === position), { message: 'a line written after it' });
  t.pass('the client receives its log lines again, without re-subscribing');
});

t.test('a room the client leaves while its restore is still retrying is not joined again', async (t) => {
  const stack = await startStack(t);
  const { gw, redis, collector } = stack;
  await collector.register('S');
  const nsp = gw.app.io.of('/monitoring');
  const first = await stack.client();
  t.match(await emitAck(first, 'subscribe-server-logs', { serverId: 'S', level: 'info' }), { ok: true });
  const id = sessionIdOf(nsp.sockets.get(first.id!)!)!;
  const session = async () => (await collector.redis.hgetall(sessionKey(id))) as { rooms?: string; updated?: string };
  await waitFor(async () => ((await session()).rooms ?? '').includes('"logs"'), { message: 'the session written to Redis' });
  nsp.sockets.get(first.id!)!.conn.close();
  await waitFor(() => !first.connected, { message: 'the transport closed' });

  // The restore of the log room fails (history unreadable) and keeps retrying…
  await redis.command('ACL', 'SETUSER', 'default', '-xinfo');
  t.teardown(() => redis.command('ACL', 'SETUSER', 'default', '+xinfo').catch(() => undefined));
  const back = await stack.client(gw, { auth: { pid: id } });
  const socket = nsp.sockets.get(back.id!)!;
  const refusals = async () => Number(/count\r\n:(\d+)/.exec(await redis.command('ACL', 'LOG'))?.[1] ?? 0);
  await waitFor(async () => (await refusals()) >= 1, { timeoutMs: 10_000, message: 'the restore tried once' });

  // …when the client says it no longer wants it.
  t.match(await emitAck(back, 'unsubscribe-server-logs', { serverId: 'S' }), { ok: true });
  await waitFor(async () => !((await session()).rooms ?? '"logs"').includes('"logs"'), { message: 'the session without the log room' });
  const savedAt = (await session()).updated;
  await redis.command('ACL', 'SETUSER', 'default', '+xinfo');
  // The restore's next round ends by writing the session: wait for that write, then look.
  await waitFor(async () => (await session()).updated !== savedAt, { timeoutMs: 10_000, message: 'the restore round after the history is readable' });
  t.notOk([...socket.rooms].some((r) => r.startsWith('server-logs-')), 'the log room the client left was not joined again');
  t.notMatch((await session()).rooms ?? '', /"logs"/, 'nor put back in its session');
});
