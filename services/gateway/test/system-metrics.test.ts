// Host metrics through a gateway: subscribe-system-metrics (latest at once, then every sample, in
// order), both ways to unsubscribe, the token's `hosts` globs, the room limit and the rate limit,
// a token refresh that no longer allows a host, and the REST endpoints (list, one host, paged
// history, bearer auth). A stand-in collector writes host samples exactly as the real one does
// (HostWriter: one Lua call per sample, the real wire format).
import t, { type Test } from 'tap';
import {
  ErrorCodes,
  NAMESPACE,
  ServerEvents,
  SystemMetricsEvent,
  comparePositions,
  compile,
  systemMetricsRoom,
  type HostMetrics,
  type HostView,
} from '@vigil/protocol';
import { HostWriter, adapterChannel, closeRedis, createRedis } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { collect, emitAck, startStack, testToken } from './helpers.js';

const checkEvent = compile(SystemMetricsEvent);

function hostSample(n: number): HostMetrics {
  return {
    cpu: { total: n % 100, cores: [n % 100, 0], count: 2 },
    load: { one: 0.5, five: 0.25, fifteen: 0.1 },
    memory: { total: 8e9, available: 6e9, used: 2e9 + n, swapTotal: 0, swapUsed: 0 },
    uptime: 1000 + n,
    network: { rxBytesPerSec: n, txBytesPerSec: n, interfaces: [{ name: 'eth0', rxBytesPerSec: n, txBytesPerSec: n }], count: 1 },
    mounts: [{ path: '/', total: 1e10, used: 4e9, available: 6e9 }],
    timestamp: new Date().toISOString(),
  };
}

async function hostCollector(t: Test, redisUrl: string) {
  const redis = createRedis(redisUrl, 'command');
  t.teardown(() => closeRedis(redis));
  const writer = new HostWriter(redis, { uid: 'fake-host-collector', maxLen: 1000 });
  return {
    sample: (host: string, n: number, collectorId = 'agent-1') => {
      const data = hostSample(n);
      return writer.write({ host, collectorId, data, timestamp: data.timestamp }, Date.now());
    },
  };
}

const hostsToken = (hosts: string[], extra: Record<string, unknown> = {}) =>
  testToken({ sub: 'ops', vigil: { servers: ['*'], hosts, ...extra } as never });

t.test('latest at once on subscribe, then every sample in order; unsubscribe both ways', async (t) => {
  const stack = await startStack(t);
  const fake = await hostCollector(t, stack.redis.url);
  const first = await fake.sample('box-1', 1);
  const c = await stack.client(stack.gw, { auth: { token: await hostsToken(['box-*']) } });
  const got = collect<SystemMetricsEvent>(c, ServerEvents.systemMetricsUpdate);
  const confirmed = collect<{ room: string; host: string }>(c, ServerEvents.subscriptionConfirmed);

  const ack = await emitAck<Record<string, unknown>>(c, 'subscribe-system-metrics', { host: 'box-1', interval: 1000 });
  t.match(ack, { ok: true, room: 'system-metrics-box-1', host: 'box-1', interval: 1000, latest: true });
  t.equal(got.length, 1, 'the latest sample came before the ack');
  t.equal(got[0]!.position, first, 'with its position');
  t.ok(checkEvent.check(got[0]), checkEvent.explain(got[0]) ?? 'and matches the protocol');
  t.match(confirmed, [{ room: 'system-metrics-box-1', host: 'box-1' }]);

  const positions = [first];
  for (let n = 2; n <= 5; n++) positions.push(await fake.sample('box-1', n));
  await waitFor(() => got.length >= 5, { message: 'every later sample arrives' });
  t.same(got.map((e) => e.position), positions, 'each once, in order');
  t.equal(got.at(-1)!.data.uptime, 1005);

  // A second subscribe to the same host takes no second room; it sends the latest again (as a
  // re-join after a reconnect needs it), never anything older: clients drop a position seen.
  t.match(await emitAck(c, 'subscribe-system-metrics', { host: 'box-1' }), { ok: true, latest: true, interval: 5000 });
  t.same(got.slice(5).map((e) => e.position), [positions[4]], 'the latest once more, nothing older');
  got.length = 5;

  t.match(await emitAck(c, 'get-connection-status'), { ok: true, subscribedRooms: ['system-metrics-box-1'] }, 'the connection status lists the host room');
  const channel = adapterChannel(NAMESPACE, systemMetricsRoom('box-1'));
  const listeners = async () => Number(/:(\d+)\r\n$/.exec(await stack.redis.command('PUBSUB', 'SHARDNUMSUB', channel))?.[1] ?? NaN);
  t.equal(await listeners(), 1, 'the gateway listens to the host channel');
  t.match(await emitAck(c, 'unsubscribe-system-metrics', { host: 'box-1' }), { ok: true, room: 'system-metrics-box-1', wasSubscribed: true });
  await waitFor(async () => (await listeners()) === 0, { message: 'the gateway stops listening once nobody is in the room' });

  t.match(await emitAck(c, 'subscribe-system-metrics', { host: 'box-1' }), { ok: true });
  await waitFor(async () => (await listeners()) === 1, { message: 'listening again' });
  t.match(await emitAck(c, 'unsubscribe', { room: 'system-metrics-box-1' }), { ok: true, room: 'system-metrics-box-1', wasSubscribed: true }, 'the generic unsubscribe knows host rooms');
  await waitFor(async () => (await listeners()) === 0, { message: 'left by the generic unsubscribe' });
  t.match(await emitAck(c, 'unsubscribe', { room: 'system-metrics-' }), { ok: false, error: { code: ErrorCodes.UNKNOWN_ROOM } });
});

t.test('the token decides which hosts: hosts globs, admin sees all, none by default', async (t) => {
  const stack = await startStack(t);
  const fake = await hostCollector(t, stack.redis.url);
  await fake.sample('box-1', 1);
  await fake.sample('db-1', 1);
  const plain = await stack.client(); // servers '*', no hosts
  t.match(await emitAck(plain, 'subscribe-system-metrics', { host: 'box-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN, message: /host "box-1"/ } }, 'no hosts claim: no host');
  const boxes = await stack.client(stack.gw, { auth: { token: await hostsToken(['box-*']) } });
  const got = collect<SystemMetricsEvent>(boxes, ServerEvents.systemMetricsUpdate);
  t.match(await emitAck(boxes, 'subscribe-system-metrics', { host: 'db-1' }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, 'a host outside the globs');
  t.match(await emitAck(boxes, 'subscribe-system-metrics', { host: 'box-9' }), { ok: false, error: { code: ErrorCodes.UNKNOWN_HOST } }, 'a permitted host no collector sampled');
  t.equal(got.length, 0, 'nothing was sent');
  const admin = await stack.client(stack.gw, { auth: { token: await testToken({ sub: 'root', vigil: { servers: [], admin: true } }) } });
  t.match(await emitAck(admin, 'subscribe-system-metrics', { host: 'db-1' }), { ok: true, latest: true }, 'admin sees every host');
  t.match(await emitAck(boxes, 'subscribe-system-metrics', { host: 'not a host' }), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } });
  t.match(await emitAck(boxes, 'subscribe-system-metrics', { host: 'box-1', extra: 1 }), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } });
});

t.test('a refreshed token that no longer allows a host leaves its room', async (t) => {
  const stack = await startStack(t);
  const fake = await hostCollector(t, stack.redis.url);
  await fake.sample('box-1', 1);
  await fake.sample('box-2', 1);
  const c = await stack.client(stack.gw, { auth: { token: await hostsToken(['box-*']) } });
  for (const host of ['box-1', 'box-2']) t.match(await emitAck(c, 'subscribe-system-metrics', { host }), { ok: true });
  const refreshed = await emitAck<{ ok: boolean; left: string[] }>(c, 'refresh-token', { token: await hostsToken(['box-2']) });
  t.match(refreshed, { ok: true, left: ['system-metrics-box-1'] });
  const got = collect<SystemMetricsEvent>(c, ServerEvents.systemMetricsUpdate);
  await fake.sample('box-1', 2);
  const kept = await fake.sample('box-2', 2);
  await waitFor(() => got.some((e) => e.position === kept), { message: 'box-2 still arrives' });
  t.notOk(got.some((e) => e.host === 'box-1'), 'box-1 no longer does');
});

t.test('host rooms count against the room limit and events against the rate limit', async (t) => {
  const stack = await startStack(t, { gateway: { maxRoomsPerSocket: 2, eventBurst: 8, eventsPerSecond: 1 } });
  const fake = await hostCollector(t, stack.redis.url);
  for (const h of ['box-1', 'box-2', 'box-3']) await fake.sample(h, 1);
  const c = await stack.client(stack.gw, { auth: { token: await hostsToken(['*']) } });
  t.match(await emitAck(c, 'subscribe-system-metrics', { host: 'box-1' }), { ok: true });
  t.match(await emitAck(c, 'subscribe-system-metrics', { host: 'box-2' }), { ok: true });
  t.match(await emitAck(c, 'subscribe-system-metrics', { host: 'box-3' }), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } });
  const answers: Array<{ ok: boolean; error?: { code: string } }> = [];
  for (let i = 0; i < 10; i++) answers.push(await emitAck(c, 'subscribe-system-metrics', { host: 'box-1' }));
  t.ok(answers.some((a) => !a.ok && a.error?.code === ErrorCodes.RATE_LIMITED), 'a flood of subscribes is rate limited');
});

t.test('REST: /api/hosts, /api/hosts/:host and paged history, behind the bearer token', async (t) => {
  const stack = await startStack(t);
  const fake = await hostCollector(t, stack.redis.url);
  const positions: string[] = [];
  for (let n = 1; n <= 7; n++) positions.push(await fake.sample('box-1', n, n % 2 ? 'agent-1' : 'agent-2'));
  await fake.sample('db-1', 1);
  const ops = { authorization: `Bearer ${await hostsToken(['box-*'])}` };

  const unauth = await stack.gw.app.inject({ url: '/api/hosts' });
  t.equal(unauth.statusCode, 401);
  t.equal(unauth.json().error.code, ErrorCodes.UNAUTHORIZED);

  const list = await stack.gw.inject({ url: '/api/hosts', headers: ops });
  t.equal(list.statusCode, 200);
  const hosts = list.json().hosts as HostView[];
  t.same(hosts.map((h) => h.host), ['box-1'], 'only the hosts the token may see');
  t.same(hosts[0]!.collectors.map((c) => c.collectorId).sort(), ['agent-1', 'agent-2'], 'with every collector that sampled it');
  t.match(hosts[0], { lastSeenAt: /^\d{4}-/, latest: { cpu: 7, cores: 2, load1: 0.5, memoryTotal: 8e9, memoryUsed: 2e9 + 7, uptime: 1007, position: positions[6] } });
  t.same((await stack.gw.inject('/api/hosts')).json().hosts, [], 'a token without hosts sees none');

  const one = await stack.gw.inject({ url: '/api/hosts/box-1', headers: ops });
  t.equal(one.statusCode, 200);
  t.match(one.json(), { host: 'box-1', sample: { host: 'box-1', position: positions[6], data: { uptime: 1007, mounts: [{ path: '/' }] } } });
  const hidden = await stack.gw.inject({ url: '/api/hosts/db-1', headers: ops });
  const missing = await stack.gw.inject({ url: '/api/hosts/nowhere', headers: ops });
  t.equal(hidden.statusCode, 404);
  t.same(hidden.json(), { error: { code: ErrorCodes.HOST_NOT_FOUND, message: 'no host "db-1" has been sampled' } });
  t.same(missing.json(), { error: { code: ErrorCodes.HOST_NOT_FOUND, message: 'no host "nowhere" has been sampled' } }, 'a hidden host answers exactly like a missing one');

  // Paging back from the newest, then forward again.
  const page1 = (await stack.gw.inject({ url: '/api/hosts/box-1/metrics?limit=3', headers: ops })).json();
  t.same(page1.items.map((i: { position: string }) => i.position), positions.slice(4), 'the newest page, oldest first');
  t.equal(page1.next, positions[4]);
  const page2 = (await stack.gw.inject({ url: `/api/hosts/box-1/metrics?limit=3&before=${page1.next}`, headers: ops })).json();
  t.same(page2.items.map((i: { position: string }) => i.position), positions.slice(1, 4));
  const page3 = (await stack.gw.inject({ url: `/api/hosts/box-1/metrics?limit=3&before=${page2.next}`, headers: ops })).json();
  t.same(page3.items.map((i: { position: string }) => i.position), positions.slice(0, 1));
  t.equal(page3.next, null, 'no page before the first');
  const forward = (await stack.gw.inject({ url: `/api/hosts/box-1/metrics?limit=4&after=${positions[1]}`, headers: ops })).json();
  t.same(forward.items.map((i: { position: string }) => i.position), positions.slice(2, 6));
  t.equal(forward.next, positions[5]);
  for (const item of forward.items) t.ok(checkEvent.check(item), 'history items match the protocol');

  for (const bad of ['limit=0', 'limit=1001', 'before=x', 'what=1', `before=${positions[1]}&after=${positions[0]}`]) {
    const res = await stack.gw.inject({ url: `/api/hosts/box-1/metrics?${bad}`, headers: ops });
    t.equal(res.statusCode, 400, `?${bad} is refused`);
    t.equal(res.json().error.code, ErrorCodes.INVALID_QUERY);
  }
  t.equal((await stack.gw.inject({ url: '/api/hosts/db-1/metrics', headers: ops })).statusCode, 404, 'no history of a hidden host');
  t.equal((await stack.gw.inject({ url: '/api/hosts/bad%20name', headers: ops })).statusCode, 400);
});
