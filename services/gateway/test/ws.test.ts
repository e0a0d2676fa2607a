// The plain WebSocket endpoint /ws: the same protocol as Socket.IO's /monitoring, from the same
// handlers, on real gateways sharing one real Redis.
import t from 'tap';
import { ErrorCodes, NAMESPACE, ServerEvents, WsCloseCodes, metricsRoom, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { adapterChannel } from '@vigil/store';
import { startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, collect, emitAck, restartRedisUnder, startGateway, startStack, testToken } from './helpers.js';
import { WsTestClient } from './ws-helpers.js';

const uptimes = (got: ProcessInfoEvent[]) => got.map((e) => e.processInfo.uptime);

/** A value of the gateway's /metrics (its own port). */
async function metric(gw: { app: { metricsAddress(): { url: string } | null } }, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(gw.app.metricsAddress()!.url)).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : NaN;
}

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

t.test('/ws logs: each line once at the subscribed level and above, resumed with since after a reconnect', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const [a, b] = stack.pair();
  const { collector } = stack;
  await collector.register('L');
  const first = await WsTestClient.connect(a.url);
  t.teardown(() => first.close());
  const subscribed = await first.request('subscribe-server-logs', { serverId: 'L', level: 'warn' });
  t.match(subscribed, { ok: true, serverId: 'L', level: 'warn', replayed: 0 });
  const levels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
  const live = await collector.lines('L', levels.map((level, i) => ({ level, message: `live ${i}` })));
  await waitFor(() => first.got(ServerEvents.processLogs).length >= 3, { message: 'the live lines' });
  const lines = first.got<ProcessLogsEvent>(ServerEvents.processLogs);
  t.same(lines.map((l) => l.logData.message), ['live 2', 'live 3', 'live 4'], 'warn and above, each line once, in order');
  t.same(lines.map((l) => l.position), live.slice(2));

  // The client goes; lines are written meanwhile; it comes back to the other gateway with `since`.
  first.close();
  await first.closed;
  const missed = await collector.lines('L', levels.map((level, i) => ({ level, message: `missed ${i}` })));
  const again = await WsTestClient.connect(b.url);
  t.teardown(() => again.close());
  const resumed = await again.request('subscribe-server-logs', { serverId: 'L', level: 'warn', since: lines[lines.length - 1]!.position });
  t.match(resumed, { ok: true, replayed: 3, gap: false, more: false }, 'the missed lines replayed');
  const after = await collector.lines('L', [{ level: 'error', message: 'after' }]);
  await waitFor(() => again.got(ServerEvents.processLogs).length >= 4, { message: 'replay and the next live line' });
  const got = again.got<ProcessLogsEvent>(ServerEvents.processLogs);
  t.same(got.map((l) => l.logData.message), ['missed 2', 'missed 3', 'missed 4', 'after'], 'no gap, no duplicate');
  t.same(got.map((l) => l.position), [...missed.slice(2), ...after]);
});

t.test('/ws answers malformed frames with error acks of stable codes', async (t) => {
  const stack = await startStack(t);
  const { gw, collector } = stack;
  await collector.register(['A', 'B']);
  const c = await WsTestClient.connect(gw.url, { token: await testToken({ vigil: { servers: ['A'], logs: false } }) });
  t.teardown(() => c.close());
  const stray = async (send: () => void) => {
    const before = c.strayAcks.length;
    send();
    await waitFor(() => c.strayAcks.length > before, { message: 'an ack for the malformed frame' });
    return c.strayAcks[before]!;
  };
  t.match(await stray(() => c.sendRaw('{not json')), { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'not JSON');
  t.match(await stray(() => c.sendRaw('[1,2]')), { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'not an object');
  t.match(await stray(() => c.sendRaw(JSON.stringify({ event: 'ping' }))), { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'no id');
  t.match(await stray(() => c.sendRaw(JSON.stringify({ id: 'x', event: 'ping' }))), { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'an id that is not a number');
  t.match(await stray(() => c.sendRaw(JSON.stringify({ id: 1.5, event: 'ping' }))), { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'a fractional id');
  t.match(await stray(() => c.sendRaw(JSON.stringify({ id: 7, data: {} }))), { id: 7, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'no event: answered with its id');
  t.match(await c.request('no-such-event', {}), { ok: false, error: { code: ErrorCodes.UNKNOWN_EVENT } }, 'unknown event');
  t.match(await c.request('subscribe-server-metrics', { serverId: 'A', extra: 1 }), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } }, 'invalid payload');
  t.match(await c.request('subscribe-server-metrics'), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } }, 'missing payload');
  t.match(await c.request('subscribe-server-metrics', { serverId: 'B' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, 'a server the token does not allow');
  t.match(await c.request('subscribe-server-logs', { serverId: 'A' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, 'logs the token does not allow');
  t.match(await c.request('ping', { timestamp: 5 }), { ok: true, echo: 5 }, 'the connection still works');
  t.match(await c.request('get-connection-status'), { ok: true, subscribedRooms: [] }, 'an event without data');

  // Binary frames end the connection with 1003, after an ack and a disconnect-reason.
  const bystander = await WsTestClient.connect(gw.url);
  t.teardown(() => bystander.close());
  const binary = await stray(() => c.sendRaw(Buffer.from('{"id":1,"event":"ping"}'), true));
  t.match(binary, { id: null, ack: { ok: false, error: { code: ErrorCodes.INVALID_FRAME } } }, 'binary frame');
  t.match(await c.closed, { code: WsCloseCodes.unsupportedData }, 'closed with 1003');
  t.match(c.got(ServerEvents.disconnectReason), [{ code: ErrorCodes.INVALID_FRAME }], 'disconnect-reason says why');
  t.match(await bystander.request('subscribe-server-metrics', { serverId: 'A' }), { ok: true }, 'another client goes on');

  // A frame past the maximum payload: closed with 1009.
  const big = await WsTestClient.connect(gw.url);
  big.sendRaw(JSON.stringify({ id: 1, event: 'ping', data: { pad: 'x'.repeat(70 * 1024) } }));
  t.match(await big.closed, { code: WsCloseCodes.messageTooBig }, 'oversize frame: closed with 1009');
  t.match(await bystander.request('ping'), { ok: true }, 'others unaffected');
});

t.test('/ws events count against the rate limit, malformed ones too', async (t) => {
  const { gw } = await startStack(t, { gateway: { eventsPerSecond: 1, eventBurst: 3 } });
  const c = await WsTestClient.connect(gw.url);
  t.teardown(() => c.close());
  // Sent together: the budget (a burst of 3, then 1 a second) cannot refill past the tenth.
  const pending = Array.from({ length: 10 }, () => c.request('ping'));
  c.sendRaw('garbage');
  const codes = (await Promise.all(pending)).map((a) => (a.ok ? 'ok' : a.error!.code));
  t.ok(codes.filter((c) => c === 'ok').length < 10, `the burst (and what refilled) answered ok: ${codes.join(',')}`);
  t.ok(codes.includes(ErrorCodes.RATE_LIMITED), 'the rest: RATE_LIMITED');
  await waitFor(() => c.strayAcks.length === 1, { message: 'an ack for the garbage' });
  t.match(c.strayAcks[0], { id: null, ack: { ok: false, error: { code: ErrorCodes.RATE_LIMITED } } }, 'a malformed frame over the rate is RATE_LIMITED');
});

t.test('/ws upgrades are refused without a valid bearer token, from a foreign origin, past the per-address cap', async (t) => {
  const { gw } = await startStack(t, { gateway: { maxConnectionsPerAddress: 2 } });
  t.match(await WsTestClient.open(gw.url, { token: null }), { status: 401, body: { error: { code: ErrorCodes.UNAUTHORIZED } } }, 'no token');
  t.match(await WsTestClient.open(gw.url, { token: 'not.a.jwt' }), { status: 401, body: { error: { code: ErrorCodes.UNAUTHORIZED } } }, 'a bad token');
  t.match(await WsTestClient.open(gw.url, { token: null, headers: { authorization: 'Basic dXNlcg==' } }), { status: 401, body: { error: { code: ErrorCodes.UNAUTHORIZED } } }, 'not a bearer');
  const expired = await testToken({ ttlSeconds: -120 });
  t.match(await WsTestClient.open(gw.url, { token: expired }), { status: 401, body: { error: { code: ErrorCodes.TOKEN_EXPIRED } } }, 'an expired token');
  const inUrl = await WsTestClient.open(gw.url, { token: null, path: `/ws?token=${await testToken()}` });
  t.match(inUrl, { status: 401, body: { error: { code: ErrorCodes.UNAUTHORIZED, message: /never in the URL/ } } }, 'a token in the URL');
  t.match(await WsTestClient.open(gw.url, { headers: { origin: 'http://evil.example' } }), { status: 403, body: { error: { code: ErrorCodes.ORIGIN_REFUSED } } }, 'a foreign origin');
  const ok = await WsTestClient.open(gw.url, { headers: { origin: gw.url } });
  t.ok(ok instanceof WsTestClient, 'the gateway’s own origin connects');
  const second = await WsTestClient.connect(gw.url);
  t.teardown(() => {
    (ok as WsTestClient).close();
    second.close();
  });
  t.match(await WsTestClient.open(gw.url), { status: 429, body: { error: { code: ErrorCodes.TOO_MANY_CONNECTIONS } } }, 'a third connection from one address');
  second.close();
  await second.closed;
  await waitFor(async () => {
    const r = await WsTestClient.open(gw.url);
    if (r instanceof WsTestClient) r.close();
    return r instanceof WsTestClient;
  }, { message: 'a slot to free up' });
  t.pass('a closed connection frees its slot');
});

t.test('a /ws client that stops reading is disconnected at its buffer cap; the others keep receiving', async (t) => {
  const { gw, collector } = await startStack(t, { gateway: { maxBufferedBytes: 64 * 1024, metricsPort: 0 } });
  await collector.register('chatty');
  const reader = await WsTestClient.connect(gw.url);
  const paused = await WsTestClient.connect(gw.url);
  t.teardown(() => {
    reader.close();
    paused.ws.terminate();
  });
  for (const c of [reader, paused]) t.match(await c.request('subscribe-server-logs', { serverId: 'chatty', level: 'info' }), { ok: true });
  t.equal(await metric(gw, 'vigil_gateway_connections', 'transport="ws"'), 2, 'two /ws clients counted');
  (paused.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  let written = 0;
  await waitFor(
    async () => {
      await collector.lines('chatty', Array.from({ length: 50 }, (_, k) => ({ level: 'info' as const, message: `line ${written + k} ${'y'.repeat(1000)}` })));
      written += 50;
      return (await metric(gw, 'vigil_gateway_slow_consumers_total')) === 1;
    },
    { timeoutMs: 60_000, intervalMs: 10, message: 'the paused client to be disconnected' },
  );
  await waitFor(async () => (await metric(gw, 'vigil_gateway_connections', 'transport="ws"')) === 1, { message: 'the paused client gone' });
  await waitFor(() => reader.got(ServerEvents.processLogs).length === written, { timeoutMs: 30_000, message: 'every line on the reader' });
  const messages = reader.got<ProcessLogsEvent>(ServerEvents.processLogs).map((l) => Number(l.logData.message.split(' ')[1]));
  t.same(messages, [...Array(written).keys()], `the reader got all ${written} lines once, in order`);
  t.match(await reader.request('ping'), { ok: true }, 'and is still served');
});

t.test('/ws tokens expire: token-expiring, refresh-token keeps the connection, else closed with 4001', async (t) => {
  const { gw } = await startStack(t, { gateway: { tokenExpiryWarningMs: 1000 } });
  const short = () => testToken({ ttlSeconds: 3 });
  const refreshing = await WsTestClient.connect(gw.url, { token: await short() });
  const lapsing = await WsTestClient.connect(gw.url, { token: await short() });
  t.teardown(() => {
    refreshing.close();
    lapsing.close();
  });
  await waitFor(() => refreshing.got(ServerEvents.tokenExpiring).length === 1, { timeoutMs: 10_000, message: 'token-expiring' });
  t.match(await refreshing.request('refresh-token', { token: await testToken({ ttlSeconds: 3600 }) }), { ok: true, left: [] }, 'refreshed');
  t.match(await lapsing.closed, { code: WsCloseCodes.tokenExpired }, 'the other is closed with 4001 at expiry');
  t.match(lapsing.got(ServerEvents.disconnectReason), [{ code: ErrorCodes.TOKEN_EXPIRED }], 'after disconnect-reason');
  t.match(await refreshing.request('ping'), { ok: true }, 'the refreshed client is still connected');
  t.match(await refreshing.request('refresh-token', { token: await testToken({ sub: 'someone-else' }) }), { ok: false, error: { code: ErrorCodes.UNAUTHORIZED } }, 'another subject refused');
});

t.test('/ws on drain and on close: 1001 going away; a closed app leaves nothing subscribed; built again, it serves', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  await collector.register('S');
  const channel = adapterChannel(NAMESPACE, metricsRoom('S'));
  const shardSubscribers = async () => Number(/:(\d+)\r\n$/.exec(await redis.command('PUBSUB', 'SHARDNUMSUB', channel))?.[1]);

  const draining = await startGateway(redis.url);
  t.teardown(() => draining.close());
  const a = await WsTestClient.connect(draining.url);
  t.match(await a.request('subscribe-server-metrics', { serverId: 'S' }), { ok: true });
  const drained = await draining.app.drain({ maxMs: 2000, intervalMs: 10 });
  t.match(drained, { clients: 1, disconnected: 1, remaining: 0 });
  t.match(await a.closed, { code: WsCloseCodes.goingAway }, 'drain: closed with 1001');

  for (let round = 0; round < 2; round++) {
    const gw = await startGateway(redis.url);
    const c = await WsTestClient.connect(gw.url);
    t.match(await c.request('subscribe-server-metrics', { serverId: 'S' }), { ok: true });
    await collector.sample('S', round);
    await waitFor(() => c.got(ServerEvents.processInfo).length >= 1, { message: 'a sample' });
    await gw.close();
    t.match(await c.closed, { code: WsCloseCodes.goingAway }, `round ${round}: app close: closed with 1001`);
  }
  await draining.close();
  await waitFor(async () => (await shardSubscribers()) === 0, { message: 'no gateway subscribed to S' });
  t.pass('every closed gateway unsubscribed');
});

t.test('/ws after the gateway lost Redis pub/sub: resync-required, and a re-subscribe with since brings the missed lines', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url);
  t.teardown(() => gw.close());
  const client = await WsTestClient.connect(gw.url);
  t.teardown(() => client.close());
  const before = new FakeCollector(redis.url);
  await before.register('S');
  t.match(await client.request('subscribe-server-logs', { serverId: 'S', level: 'info' }), { ok: true });
  const [first] = await before.lines('S', [{ level: 'info', message: 'before' }]);
  await waitFor(() => client.got(ServerEvents.processLogs).length === 1, { message: 'the first line' });
  await before.close();

  const collector = await restartRedisUnder(t, redis, gw);
  const burst = await collector.lines('S', [{ level: 'info', message: 'burst 1' }, { level: 'error', message: 'burst 2' }]);
  await waitFor(() => client.got(ServerEvents.resyncRequired).length === 1, { timeoutMs: 20_000, message: 'resync-required' });
  t.match(client.got(ServerEvents.resyncRequired), [{ serverIds: ['S'], reason: 'redis-reconnected' }], 'a /ws client is told to re-subscribe');
  t.match(await client.request('subscribe-server-logs', { serverId: 'S', level: 'info', since: first }), { ok: true, gap: false });
  await waitFor(() => new Set(client.got<ProcessLogsEvent>(ServerEvents.processLogs).map((l) => l.position)).size === 3, { message: 'the burst' });
  const positions = new Set(client.got<ProcessLogsEvent>(ServerEvents.processLogs).map((l) => l.position));
  t.same([...positions].sort(), [first, ...burst].sort(), 'every line, whether it came live or in the replay');
});

t.test('/ws heartbeats: a peer that does not answer pings is closed, one that does stays', async (t) => {
  const { gw } = await startStack(t, { gateway: { wsHeartbeatMs: 200 } });
  const deaf = await WsTestClient.connect(gw.url, { autoPong: false });
  const alive = await WsTestClient.connect(gw.url);
  t.teardown(() => {
    deaf.ws.terminate();
    alive.close();
  });
  let pings = 0;
  alive.ws.on('ping', () => pings++);
  const closed = await deaf.closed;
  t.not(closed.code, WsCloseCodes.normal, `the silent peer was dropped (${closed.code})`);
  await waitFor(() => pings >= 3, { message: 'more pings to the live peer' });
  t.match(await alive.request('ping'), { ok: true }, 'the answering peer is still served');
});
