// Alerts at the gateway: what fires now on subscribe, severity and permission filtering, each
// change once to clients of two gateways, per-server subscriptions, unsubscribe, REST paging,
// `stale` raised once across three gateways, webhook entries claimed from a dead gateway, a /ws
// client's alerts, and a removed server's alerts resolved.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertKeys, ALERT_WEBHOOK_GROUP, ClientEvents, ErrorCodes, Keys, ServerEvents, alertId, type AlertBody, type AlertEvent } from '@vigil/protocol';
import { AlertWriter } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { collect, emitAck, startGateway, startStack, testToken } from './helpers.js';
import { WsTestClient } from './ws-helpers.js';

function alert(serverId: string, rule: string, state: AlertBody['state'], severity: AlertBody['severity'] = 'warning'): AlertBody {
  const now = new Date().toISOString();
  return { id: alertId(serverId, rule), rule, severity, serverId, host: 'h', state, message: `${rule} ${state}`, value: 1, since: now, timestamp: now };
}

t.test('firing on subscribe, then each change once, filtered by severity and token', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  // Never stale during the test: stale alerts are the third test's.
  await stack.collector.register(['api', 'db', 'web-1'], { staleAfterMs: 3_600_000 });
  const writer = new AlertWriter(stack.collector.redis, 'test-collector');
  const [apiCpu] = await writer.write([{ body: alert('api', 'cpu', 'firing', 'critical') }]);
  t.ok(apiCpu, 'a new alert is written');
  t.same(await writer.write([{ body: alert('api', 'cpu', 'firing', 'critical') }]), [null], 'firing what fires already writes nothing');
  await writer.write([{ body: alert('db', 'errors', 'firing', 'info') }]);

  const [a, b] = stack.pair();
  const ca = await stack.client(a);
  const cb = await stack.client(b);
  const gotA = collect<AlertEvent>(ca, ServerEvents.alert);
  const gotB = collect<AlertEvent>(cb, ServerEvents.alert);
  t.match(await emitAck(ca, ClientEvents.subscribeAlerts, {}), { ok: true, firing: 2, covered: false });
  t.match(await emitAck(cb, ClientEvents.subscribeAlerts, { severity: 'warning' }), { ok: true, firing: 1 });
  t.same(gotA.map((e) => e.id).sort(), ['api/cpu', 'db/errors'], 'both firing alerts sent at once');
  t.same(gotB.map((e) => e.id), ['api/cpu'], 'at warning and above only');
  t.equal(gotA.find((e) => e.id === 'api/cpu')!.position, apiCpu, 'with the position of its firing');

  // A per-server subscription under every server's is covered: no second delivery.
  t.match(await emitAck(ca, ClientEvents.subscribeAlerts, { serverId: 'api' }), { ok: true, covered: true, firing: 0 });
  t.match(await emitAck(ca, ClientEvents.getConnectionStatus), { subscribedRooms: ['alerts'] }, 'connection status names the subscription');
  await writer.write([{ body: alert('web-1', 'down', 'firing', 'critical') }, { body: alert('api', 'cpu', 'resolved', 'critical') }]);
  await waitFor(() => gotA.length === 4 && gotB.length === 3, { message: 'two changes on both gateways' });
  t.same(gotA.slice(2).map((e) => `${e.id} ${e.state}`), ['web-1/down firing', 'api/cpu resolved']);
  t.same(gotB.slice(1).map((e) => `${e.id} ${e.state}`), ['web-1/down firing', 'api/cpu resolved']);
  t.same(await writer.write([{ body: alert('api', 'cpu', 'resolved', 'critical') }]), [null], 'resolving what is resolved writes nothing');

  // A token for web-* only: every server's alerts are refused, one of its servers works.
  const narrow = await testToken({ sub: 'web', vigil: { servers: ['web-*'] } });
  const cn = await stack.client(a, { auth: { token: narrow } });
  const gotN = collect<AlertEvent>(cn, ServerEvents.alert);
  t.match(await emitAck(cn, ClientEvents.subscribeAlerts, {}), { ok: false, error: { code: ErrorCodes.FORBIDDEN } });
  t.match(await emitAck(cn, ClientEvents.subscribeAlerts, { serverId: 'api' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } });
  t.match(await emitAck(cn, ClientEvents.subscribeAlerts, { serverId: 'web-1' }), { ok: true, room: 'alerts-web-1', firing: 1 });
  await writer.write([{ body: alert('db', 'errors', 'resolved', 'info') }, { body: alert('web-1', 'down', 'resolved', 'critical') }]);
  await waitFor(() => gotN.length === 2 && gotA.length === 6 && gotB.length === 4, { message: 'the resolutions' });
  t.equal(gotB[3]!.id, 'web-1/down', 'the info resolution of db/errors did not reach the warning subscriber');
  t.same(gotN.map((e) => `${e.id} ${e.state}`), ['web-1/down firing', 'web-1/down resolved'], 'only its own server');

  // REST: paged by cursor, filtered by the token.
  const page1 = (await a.inject('/api/alerts?state=all&limit=4')).json() as { alerts: AlertEvent[]; next: string };
  t.equal(page1.alerts.length, 4);
  const page2 = (await a.inject(`/api/alerts?state=all&limit=4&before=${page1.next}`)).json() as { alerts: AlertEvent[]; next: string | null };
  t.same([...page1.alerts, ...page2.alerts].map((e) => e.position).reverse(), gotA.map((e) => e.position).sort(), 'every change, newest first, over two pages');
  const narrowAll = (await a.inject({ url: '/api/alerts?state=all', headers: { authorization: `Bearer ${narrow}` } })).json() as { alerts: AlertEvent[] };
  t.same(narrowAll.alerts.map((e) => e.serverId), ['web-1', 'web-1']);
  t.equal((await a.inject('/api/alerts?state=sometimes')).statusCode, 400);
  t.equal((await a.inject({ url: '/api/alerts', headers: { authorization: '' } })).statusCode, 401);

  // Unsubscribing stops delivery; `unsubscribe { room: 'alerts' }` works alike.
  t.match(await emitAck(ca, ClientEvents.unsubscribe, { room: 'alerts' }), { ok: true, wasSubscribed: true });
  t.match(await emitAck(cb, ClientEvents.unsubscribeAlerts, {}), { ok: true, wasSubscribed: true });
  const status = await emitAck<{ subscribedRooms: string[] }>(ca, ClientEvents.getConnectionStatus);
  t.same(status.subscribedRooms, []);
  await writer.write([{ body: alert('db', 'errors', 'firing', 'info') }]);
  // A third client, still subscribed, proves the change went out before the others are checked.
  await waitFor(async () => ((await a.inject('/api/alerts')).json() as { alerts: AlertEvent[] }).alerts.length === 1, { message: 'db/errors firing' });
  const watcher = await stack.client(b);
  const gotW = collect<AlertEvent>(watcher, ServerEvents.alert);
  await emitAck(watcher, ClientEvents.subscribeAlerts, {});
  t.same(gotW.map((e) => e.id), ['db/errors']);
  t.equal(gotA.length, 6, 'nothing after unsubscribe (a)');
  t.equal(gotB.length, 4, 'nothing after unsubscribe (b)');
});

t.test('a refreshed token that no longer sees a server leaves its alerts', async (t) => {
  const stack = await startStack(t);
  await stack.collector.register(['web-1', 'api'], { staleAfterMs: 3_600_000 });
  const wide = await testToken({ sub: 'u', vigil: { servers: ['*'] } });
  const client = await stack.client(stack.gw, { auth: { token: wide } });
  await emitAck(client, ClientEvents.subscribeAlerts, {});
  await emitAck(client, ClientEvents.subscribeAlerts, { serverId: 'web-1' });
  const narrow = await testToken({ sub: 'u', vigil: { servers: ['api'] } });
  t.match(await emitAck(client, ClientEvents.refreshToken, { token: narrow }), { ok: true, left: ['alerts'] });
  t.match(await emitAck(client, ClientEvents.subscribeAlerts, { serverId: 'api' }), { ok: true, covered: false });
  const web = await testToken({ sub: 'u', vigil: { servers: ['web-*'] } });
  t.match(await emitAck(client, ClientEvents.refreshToken, { token: web }), { ok: true, left: ['alerts-api'] });
});

t.test('alert rooms count against the room limit', async (t) => {
  const stack = await startStack(t, { gateway: { maxRoomsPerSocket: 2 } });
  await stack.collector.register(['api']);
  const client = await stack.client();
  t.match(await emitAck(client, ClientEvents.subscribeAlerts, {}), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } });
  t.match(await emitAck(client, ClientEvents.subscribeAlerts, { severity: 'warning' }), { ok: true });
  t.match(await emitAck(client, ClientEvents.subscribeServerMetrics, { serverId: 'api' }), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } });
});

t.test('a server whose heartbeat stopped is raised stale once across three gateways, and resolved once', async (t) => {
  const stack = await startStack(t, { gateways: 3 });
  await stack.collector.register(['api'], { staleAfterMs: 1000 });
  const clients = await Promise.all(stack.gws.map((gw) => stack.client(gw)));
  const got = clients.map((c) => collect<AlertEvent>(c, ServerEvents.alert));
  for (const c of clients) await emitAck(c, ClientEvents.subscribeAlerts, { serverId: 'api' });
  await stack.collector.redis.zadd(Keys.heartbeats, Date.now() - 5000, 'api');
  await waitFor(() => got.every((g) => g.length === 1), { message: 'stale on every client' });
  t.match(got[0]![0], { id: 'api/stale', rule: 'stale', severity: 'critical', state: 'firing', host: 'test-host' });
  // Many sweeps of three gateways later (each sweep is one ZRANGEBYSCORE), still one.
  const redis = stack.collector.redis;
  const sweeps = async () => Number(/cmdstat_zrangebyscore:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const before = await sweeps();
  await waitFor(async () => (await sweeps()) >= before + 12, { message: 'a dozen more sweeps' });
  t.equal(await redis.xlen(AlertKeys.stream), 1, 'one stale alert in the stream');
  t.ok(got.every((g) => g.length === 1), 'and one on each client');
  await stack.collector.register(['api'], { staleAfterMs: 1000 });
  await waitFor(() => got.every((g) => g.length === 2), { message: 'resolved on every client' });
  t.same(got.map((g) => g.map((e) => e.state)), [['firing', 'resolved'], ['firing', 'resolved'], ['firing', 'resolved']]);
  t.equal(new Set(got.flat().map((e) => e.position)).size, 2, 'the same two events everywhere');
  t.equal(await stack.collector.redis.xlen(AlertKeys.stream), 2, 'written once each, whichever gateway won');
});

t.test('a /ws client gets alerts as a Socket.IO client does; a removed server leaves nothing firing', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  await stack.collector.register(['api', 'db'], { staleAfterMs: 3_600_000 });
  const writer = new AlertWriter(stack.collector.redis, 'test-collector');
  await writer.write([{ body: alert('api', 'cpu', 'firing', 'critical') }, { body: alert('api', 'exited', 'firing', 'warning') }]);
  const [a, b] = stack.pair();
  const ws = await WsTestClient.connect(a.url);
  t.teardown(() => ws.close());
  t.match(await ws.request(ClientEvents.subscribeAlerts, { severity: 'warning' }), { ok: true, room: 'alerts', firing: 2 });
  t.same(ws.got<AlertEvent>(ServerEvents.alert).map((e) => e.id).sort(), ['api/cpu', 'api/exited'], 'what fires now, at once');
  t.match(await ws.request(ClientEvents.getConnectionStatus), { ok: true, subscribedRooms: ['alerts'] });
  // A change written by a collector reaches the /ws member through the adapter.
  await writer.write([{ body: alert('db', 'errors', 'firing', 'critical') }, { body: alert('db', 'noise', 'firing', 'info') }]);
  await waitFor(() => ws.got(ServerEvents.alert).length === 3, { message: 'the live change' });
  t.match(ws.got<AlertEvent>(ServerEvents.alert)[2], { id: 'db/errors', state: 'firing' }, 'the info alert was below its severity');

  // An admin removes api on the other gateway: its firing alerts are resolved, once, everywhere.
  const admin = await testToken({ sub: 'ops', vigil: { servers: ['*'], admin: true } });
  const res = await b.inject({ method: 'DELETE', url: '/api/servers/api', headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200);
  const firing = (await a.inject('/api/alerts')).json() as { alerts: AlertEvent[] };
  t.same(firing.alerts.map((e) => e.id).sort(), ['db/errors', 'db/noise'], 'nothing of api fires any more');
  await waitFor(() => ws.got(ServerEvents.alert).length === 5, { message: 'both resolutions' });
  const resolved = ws.got<AlertEvent>(ServerEvents.alert).slice(3);
  t.same(resolved.map((e) => `${e.id} ${e.state}`).sort(), ['api/cpu resolved', 'api/exited resolved']);
  t.ok(resolved.every((e) => /removed by an administrator/.test(e.message)), 'saying why');
  t.match(await ws.request(ClientEvents.unsubscribeAlerts, {}), { ok: true, wasSubscribed: true });
  t.match(await ws.request(ClientEvents.getConnectionStatus), { ok: true, subscribedRooms: [] });
});

t.test('a webhook entry left pending by a dead gateway is delivered by another', async (t) => {
  const stack = await startStack(t);
  const bodies: AlertEvent[] = [];
  const receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as AlertEvent);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => receiver.close(resolve)));
  const redis = stack.collector.redis;
  await redis.xgroup('CREATE', AlertKeys.stream, ALERT_WEBHOOK_GROUP, '$', 'MKSTREAM');
  const writer = new AlertWriter(redis, 'test-collector');
  const [position] = await writer.write([{ body: alert('api', 'cpu', 'firing') }]);
  // A gateway reads it and dies before its POST.
  await redis.xreadgroup('GROUP', ALERT_WEBHOOK_GROUP, 'dead-gateway', 'COUNT', 10, 'STREAMS', AlertKeys.stream, '>');
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const gw = await startGateway(stack.redis.url, { alertWebhookUrl: url, alertWebhookClaimIdleMs: 1000, metricsPort: 0 });
  t.teardown(() => gw.close());
  await waitFor(() => bodies.length === 1, { timeoutMs: 15_000, message: 'the claimed entry delivered' });
  t.match(bodies[0], { id: 'api/cpu', state: 'firing', position });
  await waitFor(async () => ((await redis.xpending(AlertKeys.stream, ALERT_WEBHOOK_GROUP)) as [number])[0] === 0, { message: 'acknowledged' });
});
