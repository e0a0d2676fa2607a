// Who may see what over Socket.IO, against a real gateway and Redis, on WebSocket and polling:
// refused handshakes with their codes, per-server and logs permissions at subscribe, refresh to a
// narrower token, expiry, and session restore on another gateway under a narrower token.
import t from 'tap';
import { io as connect, type Socket } from 'socket.io-client';
import { ErrorCodes, NAMESPACE, ServerEvents, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { mintToken, secretKey } from '../src/auth/mint.js';
import { collect, emitAck, startStack, testToken, type RunningGateway } from './helpers.js';

const TRANSPORTS = ['websocket', 'polling'] as const;

/** The `connect_error` of a handshake, with its data. */
async function refusal(url: string, transport: string, options: Record<string, unknown>): Promise<{ message: string; data?: { code: string; message: string } }> {
  const socket = connect(`${url}${NAMESPACE}`, { transports: [transport], forceNew: true, reconnection: false, ...options });
  try {
    return await new Promise((resolve, reject) => {
      socket.once('connect_error', resolve);
      socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    });
  } finally {
    socket.close();
  }
}

function client(url: string, transport: string, token: string, extra: Record<string, unknown> = {}): Socket {
  return connect(`${url}${NAMESPACE}`, { transports: [transport], forceNew: true, reconnection: false, auth: { token }, ...extra });
}

t.test('handshakes without a valid token are refused with their code, on both transports', async (t) => {
  const { gw } = await startStack(t);
  const other = secretKey('another-secret-that-is-32-bytes-long!!');
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['no token', {}, ErrorCodes.UNAUTHORIZED, /no token/],
    ['garbage', { auth: { token: 'not-a-jwt' } }, ErrorCodes.UNAUTHORIZED, /malformed/],
    ['bad signature', { auth: { token: await mintToken(other, { sub: 'a', vigil: { servers: ['*'] }, ttlSeconds: 60 }) } }, ErrorCodes.UNAUTHORIZED, /bad signature/],
    ['wrong audience', { auth: { token: await testToken({ audience: 'elsewhere' }) } }, ErrorCodes.UNAUTHORIZED, /wrong audience/],
    ['expired', { auth: { token: await testToken({ ttlSeconds: 60, now: Date.now() - 300_000 }) } }, ErrorCodes.TOKEN_EXPIRED, /expired/],
    ['token in the query', { query: { token: await testToken() } }, ErrorCodes.UNAUTHORIZED, /never in the URL/],
  ];
  for (const transport of TRANSPORTS) {
    for (const [what, options, code, message] of cases) {
      const err = await refusal(gw.url, transport, options);
      t.equal(err.data?.code, code, `${transport}, ${what}: ${code}`);
      t.match(err.data?.message, message, `${transport}, ${what}: says why`);
      t.equal(err.message, err.data?.message, `${transport}, ${what}: the error's message is the reason`);
    }
  }
  t.equal(gw.app.io.of(NAMESPACE).sockets.size, 0, 'no refused client holds a socket');
});

t.test('a web-* token without logs: web-1 metrics yes; web-1 logs and db-1 metrics FORBIDDEN', async (t) => {
  const { gw, collector } = await startStack(t);
  await collector.sample('web-1', 1);
  await collector.sample('db-1', 1);
  const token = await testToken({ vigil: { servers: ['web-*'] } });
  for (const transport of TRANSPORTS) {
    const c = client(gw.url, transport, token);
    t.teardown(() => c.close());
    await waitFor(() => c.connected, { message: `${transport}: connected` });
    const infos = collect<ProcessInfoEvent>(c, ServerEvents.processInfo);
    t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 'web-1' }), { ok: true, room: 'server-metrics-web-1' }, `${transport}: web-1 metrics`);
    t.match(await emitAck(c, 'subscribe-server-logs', { serverId: 'web-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN, message: /logs of "web-1"/ } }, `${transport}: web-1 logs`);
    t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 'db-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN, message: /server "db-1"/ } }, `${transport}: db-1 metrics`);
    t.match(await emitAck(c, 'subscribe-server-logs', { serverId: 'db-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, `${transport}: db-1 logs`);
    await collector.sample('db-1', 2);
    await collector.sample('web-1', 2);
    await waitFor(() => infos.some((i) => i.serverId === 'web-1' && i.processInfo.uptime === 2), { message: `${transport}: web-1's live sample` });
    t.notOk(infos.some((i) => i.serverId === 'db-1'), `${transport}: nothing of db-1`);
    const status = await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status');
    t.same(status.subscribedRooms, ['server-metrics-web-1'], `${transport}: holds only what it may`);
  }
});

t.test('subscribe checks the token first: outside it, a registered and a made-up id are both FORBIDDEN; then unknown, then the room limit', async (t) => {
  const { gw, collector } = await startStack(t, { gateway: { maxRoomsPerSocket: 1 } });
  await collector.sample('web-1', 1);
  await collector.sample('web-2', 1);
  await collector.sample('db-1', 1);
  const c = client(gw.url, 'websocket', await testToken({ vigil: { servers: ['web-*'] } }));
  t.teardown(() => c.close());
  await waitFor(() => c.connected, { message: 'connected' });
  const code = async (serverId: string) => (await emitAck(c, 'subscribe-server-metrics', { serverId })).error?.code;
  t.equal(await code('db-1'), ErrorCodes.FORBIDDEN, 'a registered server outside the token: FORBIDDEN');
  t.equal(await code('db-never'), ErrorCodes.FORBIDDEN, 'an unregistered one outside the token: FORBIDDEN too (the token cannot probe ids)');
  t.equal(await code('web-never'), ErrorCodes.UNKNOWN_SERVER, 'inside the token, unregistered: UNKNOWN_SERVER');
  t.equal(await code('web-1'), undefined, 'web-1 fills the one room');
  t.equal(await code('web-ghost'), ErrorCodes.UNKNOWN_SERVER, 'at the room limit, an unknown id is still UNKNOWN_SERVER (checked before rooms)');
  t.equal(await code('web-2'), ErrorCodes.TOO_MANY_ROOMS, 'a known one past the limit: TOO_MANY_ROOMS');
});

t.test('refresh to a narrower token leaves the rooms it no longer allows', async (t) => {
  const { gw, collector } = await startStack(t);
  await collector.sample('web-1', 1);
  await collector.sample('db-1', 1);
  for (const transport of TRANSPORTS) {
    const c = client(gw.url, transport, await testToken({ sub: 'alice' }));
    t.teardown(() => c.close());
    await waitFor(() => c.connected);
    for (const serverId of ['web-1', 'db-1']) t.match(await emitAck(c, 'subscribe-server-metrics', { serverId }), { ok: true });
    t.match(await emitAck(c, 'subscribe-server-logs', { serverId: 'web-1', level: 'warn' }), { ok: true });
    const unsubscribed = collect<{ room: string }>(c, ServerEvents.unsubscriptionConfirmed);

    t.match(await emitAck(c, 'refresh-token', { token: 'garbage' }), { ok: false, error: { code: ErrorCodes.UNAUTHORIZED } }, `${transport}: a bad token is refused`);
    t.match(await emitAck(c, 'refresh-token', { token: await testToken({ sub: 'mallory' }) }), { ok: false, error: { code: ErrorCodes.UNAUTHORIZED, message: /another subject/ } }, `${transport}: another subject is refused`);
    t.match(await emitAck(c, 'refresh-token', { token: await testToken({ sub: 'alice', ttlSeconds: 60, now: Date.now() - 300_000 }) }), { ok: false, error: { code: ErrorCodes.TOKEN_EXPIRED } }, `${transport}: an expired token is refused`);
    t.match(await emitAck(c, 'refresh-token', {}), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } }, `${transport}: validated like every event`);
    t.same((await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status')).subscribedRooms.length, 3, 'refused refreshes change nothing');

    const narrower = await testToken({ sub: 'alice', vigil: { servers: ['web-*'] }, ttlSeconds: 1800 });
    const ack = await emitAck<{ ok: boolean; expiresAt: string; left: string[] }>(c, 'refresh-token', { token: narrower });
    t.equal(ack.ok, true, `${transport}: refreshed`);
    t.ok(Math.abs(Date.parse(ack.expiresAt) - (Date.now() + 1_800_000)) < 3000, 'the new expiry');
    t.same([...ack.left].sort(), ['server-logs-web-1', 'server-metrics-db-1'], `${transport}: left db-1 and web-1's logs`);
    await waitFor(() => unsubscribed.length === 2, { message: 'unsubscription-confirmed for each room left' });
    t.same((await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status')).subscribedRooms, ['server-metrics-web-1']);

    const infos = collect<ProcessInfoEvent>(c, ServerEvents.processInfo);
    const lines = collect<ProcessLogsEvent>(c, ServerEvents.processLogs);
    await collector.sample('db-1', 9);
    await collector.lines('web-1', [{ level: 'error', message: 'secret' }]);
    await collector.sample('web-1', 9);
    await waitFor(() => infos.some((i) => i.serverId === 'web-1' && i.processInfo.uptime === 9), { message: 'web-1 still flows' });
    t.notOk(infos.some((i) => i.serverId === 'db-1'), `${transport}: db-1 no longer reaches the socket`);
    t.equal(lines.length, 0, `${transport}: web-1's logs no longer reach the socket`);
    t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 'db-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, 'and the new token is what subscribe checks');
  }
});

t.test('a token is warned about, then the socket is disconnected at expiry with a reason', async (t) => {
  const { gw } = await startStack(t, { gateway: { tokenExpiryWarningMs: 1500 } });
  for (const transport of TRANSPORTS) {
    const token = await testToken({ ttlSeconds: 3 });
    const c = client(gw.url, transport, token);
    t.teardown(() => c.close());
    const warnings = collect<{ expiresAt: string }>(c, ServerEvents.tokenExpiring);
    const reasons = collect<{ code: string; message: string }>(c, ServerEvents.disconnectReason);
    let closedBecause: string | undefined;
    c.on('disconnect', (reason) => (closedBecause = reason));
    await waitFor(() => c.connected);
    await waitFor(() => warnings.length === 1, { timeoutMs: 5000, message: 'token-expiring' });
    const expiresAt = Date.parse(warnings[0]!.expiresAt);
    t.ok(expiresAt - Date.now() <= 1600 && expiresAt > Date.now() - 200, `${transport}: warned about 1.5 s before expiry`);
    await waitFor(() => closedBecause !== undefined, { timeoutMs: 5000, message: 'disconnected at expiry' });
    t.ok(Date.now() >= expiresAt, 'not before the token expired');
    t.same(reasons, [{ code: ErrorCodes.TOKEN_EXPIRED, message: reasons[0]?.message }], `${transport}: disconnect-reason TOKEN_EXPIRED first`);
    t.match(reasons[0]?.message, /token expired/);
    t.equal(closedBecause, 'io server disconnect', `${transport}: the gateway ended it`);
  }
  await waitFor(() => gw.app.io.of(NAMESPACE).sockets.size === 0, { message: 'no socket left on the gateway' });
});

t.test('a refresh before expiry keeps the connection', async (t) => {
  const { gw } = await startStack(t, { gateway: { tokenExpiryWarningMs: 1500 } });
  const c = client(gw.url, 'websocket', await testToken({ sub: 'bob', ttlSeconds: 3 }));
  t.teardown(() => c.close());
  const reasons = collect(c, ServerEvents.disconnectReason);
  c.on(ServerEvents.tokenExpiring, () => {
    void testToken({ sub: 'bob', ttlSeconds: 60 }).then((token) => c.emit('refresh-token', { token }));
  });
  const firstExpiry = Date.now() + 3000;
  await waitFor(() => Date.now() > firstExpiry + 1000, { timeoutMs: 6000, message: 'past the first token expiry' });
  t.ok(c.connected, 'still connected after the first token would have expired');
  t.match(await emitAck(c, 'ping', {}), { ok: true });
  t.equal(reasons.length, 0);
});

t.test('rooms restored on another gateway are checked against the token presented there', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const { collector } = stack;
  await collector.sample('web-1', 1);
  await collector.sample('db-1', 1);
  const [a, b] = stack.pair();
  const lb = await stack.balancer();
  lb.setBackends([a.port]);
  const c = connect(`${lb.url}${NAMESPACE}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 300,
    auth: { token: await testToken({ sub: 'carol' }) },
  });
  t.teardown(() => c.close());
  await waitFor(() => c.connected);
  for (const serverId of ['web-1', 'db-1']) await emitAck(c, 'subscribe-server-metrics', { serverId });
  await emitAck(c, 'subscribe-server-logs', { serverId: 'web-1', level: 'info' });

  // Access shrinks while the client is away: it comes back to b with a web-*, metrics-only token.
  c.auth = { token: await testToken({ sub: 'carol', vigil: { servers: ['web-*'] } }) };
  lb.setBackends([b.port]);
  await a.close();
  await waitFor(() => !c.connected, { message: 'left a' });
  await waitFor(() => c.connected, { timeoutMs: 10_000, message: 'on b' });
  const onB = (gw: RunningGateway) => gw.app.io.of(NAMESPACE).sockets.get(c.id!);
  await waitFor(() => onB(b)?.rooms.has('server-metrics-web-1'), { message: 'web-1 restored' });
  const status = await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status');
  t.same(status.subscribedRooms, ['server-metrics-web-1'], 'only what the new token allows is restored');
  const infos = collect<ProcessInfoEvent>(c, ServerEvents.processInfo);
  await collector.sample('db-1', 5);
  await collector.sample('web-1', 5);
  await waitFor(() => infos.some((i) => i.serverId === 'web-1' && i.processInfo.uptime === 5), { message: 'web-1 flows on b' });
  t.notOk(infos.some((i) => i.serverId === 'db-1'), 'db-1 does not');
});

t.test('a subscribe racing a refresh to a narrower token does not keep the room the new token forbids', async (t) => {
  const { gw, collector } = await startStack(t);
  await collector.sample('secret-1', 1);
  await collector.sample('public-1', 1);
  const narrower = await testToken({ sub: 'alice', vigil: { servers: ['public-*'] }, ttlSeconds: 1800 });
  for (const transport of TRANSPORTS) {
    const c = client(gw.url, transport, await testToken({ sub: 'alice' }));
    t.teardown(() => c.close());
    await waitFor(() => c.connected);
    // Sent back to back: the subscribe awaits Redis (is secret-1 registered?) while the refresh swaps the token.
    const [subscribed, refreshed] = await Promise.all([
      emitAck(c, 'subscribe-server-metrics', { serverId: 'secret-1' }),
      emitAck<{ ok: boolean; left?: string[] }>(c, 'refresh-token', { token: narrower }),
    ]);
    t.ok(refreshed.ok, `${transport}: the refresh is taken`);
    const status = await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status');
    t.notOk(status.subscribedRooms.includes('server-metrics-secret-1'), `${transport}: the room the new token forbids is not held`);
    if (subscribed.ok) t.same(refreshed.left, ['server-metrics-secret-1'], `${transport}: joined first, then left by the refresh`);
    else t.equal(subscribed.error?.code, ErrorCodes.FORBIDDEN, `${transport}: or refused as the new token says`);
    t.match(await emitAck(c, 'subscribe-server-metrics', { serverId: 'public-1' }), { ok: true }, `${transport}: what it allows still works`);
  }
});
