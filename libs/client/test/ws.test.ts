// @vigil/client/ws against real gateways: acks by id, samples and log lines each once and in
// order, and after its gateway goes away, re-subscribed by itself on another one (logs with
// `since`, so no line is missed or repeated).
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { BACKFILL_MAX, ErrorCodes, comparePositions, type AlertEvent, type ProcessInfoEvent, type ProcessLogsEvent, type SystemMetricsEvent } from '@vigil/protocol';
import { AlertWriter, HostWriter, closeRedis, createRedis } from '@vigil/store';
import { startRedis, startTcpBalancer, waitFor } from '@vigil/testkit';
import { HELD_MAX } from '../src/logs-subscription.js';
import { VigilWsClient, type WebSocketConstructor } from '../src/ws/index.js';
import { ALL_ACCESS_TOKEN, Publisher, alert, hostData, startGateway, testToken, type Teardown } from './fixtures/cluster.js';

/** Two gateways on one Redis behind a balancer whose first connection goes to a (b is there when a goes). */
async function gatewaysBehindBalancer(t: Teardown, redisUrl: string) {
  const a = await startGateway(redisUrl);
  t.teardown(() => a.close());
  const b = await startGateway(redisUrl);
  t.teardown(() => b.close());
  const lb = await startTcpBalancer([a.port, b.port]);
  t.teardown(() => lb.close());
  return { a, b, lb };
}

const increasing = (positions: string[]) => positions.every((p, i) => i === 0 || comparePositions(positions[i - 1]!, p) < 0);

t.test('the /ws client: acks, every line once in order across a gateway going away, samples in order', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const publisher = new Publisher(redis.url);
  t.teardown(() => publisher.close());
  const { a, lb } = await gatewaysBehindBalancer(t, redis.url);
  // The first connection through the balancer goes to a; b is there when a goes.
  const client = new VigilWsClient({ url: lb.url, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { minMs: 50, maxMs: 300 } });
  t.teardown(() => client.close());
  await client.connect();

  const samples: ProcessInfoEvent[] = [];
  const lines: ProcessLogsEvent[] = [];
  t.match(await client.subscribeMetrics('api', (e) => samples.push(e)), { ok: true, serverId: 'api' });
  t.match(await client.subscribeLogs('api', (e) => lines.push(e), { level: 'info' }), { ok: true, level: 'info' });
  t.match(await client.request('ping', { timestamp: 7 }), { ok: true, echo: 7 }, 'an ack matched by its id');
  t.match(await client.request('subscribe-server-metrics', { serverId: 'not a valid id!' }), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } }, 'an error ack');

  const written: string[] = [];
  const sampled: string[] = [];
  for (let i = 0; i < 5; i++) {
    written.push(...(await publisher.logs('api', [{ level: 'info', message: `before ${i}` }, { level: 'debug', message: 'filtered' }])).filter((_, k) => k === 0));
    sampled.push(await publisher.sample('api', i));
  }
  await waitFor(() => lines.length === 5 && samples.length === 5, { message: 'lines and samples before' });

  await a.close();
  // Written while the client reconnects (or just after): the re-subscribe's `since` brings them.
  for (let i = 0; i < 5; i++) written.push(...(await publisher.logs('api', [{ level: 'warn', message: `during ${i}` }])));
  await waitFor(() => lines.length === 10, { timeoutMs: 20_000, message: 'the lines written while away' });
  for (let i = 0; i < 5; i++) {
    written.push(...(await publisher.logs('api', [{ level: 'error', message: `after ${i}` }])));
    sampled.push(await publisher.sample('api', 10 + i));
  }
  await waitFor(() => lines.length === 15 && samples.at(-1)?.position === sampled.at(-1), { message: 'lines and samples after' });
  t.same(lines.map((l) => l.position), written, 'every line at info and above once, in order, across the reconnect');
  t.ok(increasing(samples.map((s) => s.position)), 'samples in order, none twice');
  t.ok(client.connected, 'connected again (to the other gateway)');
});

t.test('the /ws client: a refused connection rejects connect()', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url);
  t.teardown(() => gw.close());
  const client = new VigilWsClient({ url: gw.url, token: 'not-a-token', WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await t.rejects(client.connect(), /refused/, 'a bad token: refused at the upgrade');
  t.notOk(client.connected);
});

t.test('the /ws client: frames no gateway sends (null, a number, resync without data) are dropped, not thrown', async (t) => {
  // A peer of its own that answers a request with such frames first, then the real ack.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (peer) => {
    peer.on('message', (raw) => {
      const { id } = JSON.parse(String(raw)) as { id: number };
      for (const junk of ['null', '3', '"text"', '[]', JSON.stringify({ event: 'resync-required', data: null }), JSON.stringify({ event: 'token-expiring', data: 7 })]) peer.send(junk);
      peer.send(JSON.stringify({ id, ack: { ok: true, echo: 1, timestamp: new Date().toISOString() } }));
    });
  });
  const port = (server.address() as { port: number }).port;
  const client = new VigilWsClient({ url: `http://127.0.0.1:${port}`, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  t.match(await client.request('ping', { timestamp: 1 }), { ok: true }, 'the ack after the junk still arrives: nothing threw on the way');
  t.ok(client.connected, 'still connected');
});



t.test('the /ws client: host samples and alerts, each once, and brought up to date after its gateway goes away', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const writerRedis = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(writerRedis));
  const hosts = new HostWriter(writerRedis, { uid: 'ws-client-tests', maxLen: 100 });
  const alerts = new AlertWriter(writerRedis, 'ws-client-tests');
  const sample = (host: string, n: number) => hosts.write({ host, collectorId: 'c', data: hostData(n), timestamp: new Date().toISOString() }, Date.now());
  const { a, lb } = await gatewaysBehindBalancer(t, redis.url);
  const token = await testToken({ sub: 'ws-ops', vigil: { servers: ['*'], hosts: ['box-*'] } });
  const client = new VigilWsClient({ url: lb.url, token, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { minMs: 50, maxMs: 300 } });
  t.teardown(() => client.close());
  await client.connect();

  await sample('box-1', 1);
  await alerts.write([{ body: alert('api', 'cpu', 'firing') }, { body: alert('api', 'chatter', 'firing', 'info') }]);
  const got: SystemMetricsEvent[] = [];
  const delivered: AlertEvent[] = [];
  let firing: AlertEvent[] = [];
  t.match(await client.subscribeSystemMetrics('box-1', (e) => got.push(e), { interval: 1000 }), { ok: true, host: 'box-1', latest: true });
  t.match(await client.subscribeAlerts((e) => delivered.push(e), { severity: 'warning', onChange: (f) => (firing = f) }), { ok: true, firing: 1 });
  await waitFor(() => got.length === 1, { message: 'the latest host sample on subscribe' });
  t.same(delivered.map((e) => e.id), ['api/cpu'], 'what fires now at warning and above, on subscribe');
  t.match(await client.request('subscribe-system-metrics', { host: 'bad host' }), { ok: false, error: { code: ErrorCodes.INVALID_PAYLOAD } }, 'an invalid host name: an error ack');
  t.match(await client.subscribeSystemMetrics('db-1', () => undefined), { ok: false, error: { code: ErrorCodes.FORBIDDEN } }, 'a host outside the token: refused');

  await a.close();
  // While the client moves to b: a host sample, cpu resolves, mem fires.
  await sample('box-1', 2);
  await alerts.write([{ body: alert('api', 'cpu', 'resolved') }, { body: alert('api', 'mem', 'firing', 'critical') }]);
  await waitFor(() => client.connected && firing.length === 1 && firing[0]!.id === 'api/mem', { timeoutMs: 20_000, message: 'the firing set brought up to date by the re-subscribe' });
  t.same(client.firingAlerts().map((e) => e.id), ['api/mem']);
  await sample('box-1', 3);
  await alerts.write([{ body: alert('api', 'disk', 'firing', 'critical') }]);
  await waitFor(() => got.at(-1)?.data.uptime === 3 && delivered.some((e) => e.id === 'api/disk'), { message: 'live again after the reconnect' });
  t.same(got.map((e) => e.data.uptime), [1, 2, 3], 'host samples: the one written while away came as the latest on re-subscribe, nothing twice, nothing backwards');
  t.equal(new Set(delivered.map((e) => e.position)).size, delivered.length, 'no alert delivered twice');
  t.notOk(delivered.some((e) => e.id === 'api/chatter'), 'nothing below warning');

  t.match(await client.unsubscribeSystemMetrics('box-1'), { ok: true });
  t.match(await client.unsubscribeAlerts(), { ok: true });
  const before = delivered.length;
  await sample('box-1', 4);
  await alerts.write([{ body: alert('api', 'disk', 'resolved', 'critical') }]);
  // A ping's ack comes after anything the gateway would have pushed before it.
  t.match(await client.request('ping', { timestamp: 1 }), { ok: true });
  t.equal(got.length, 3, 'no host sample after unsubscribe');
  t.equal(delivered.length, before, 'no alert after unsubscribe');
});

t.test('the /ws client: a resync during a log subscribe waits for it, then resumes from the last line (one subscribe on the wire at a time)', async (t) => {
  // A peer of its own that plays the gateway: it answers the first subscribe late, after asking for a resync.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const line = (n: number) => ({ event: 'process:logs', data: { serverId: 'api', level: 'info', message: `line ${n}`, timestamp: new Date().toISOString(), position: `${n}-0` } });
  const subscribes: { since: string | undefined; outstanding: number }[] = [];
  let outstanding = 0;
  server.on('connection', (peer) => {
    peer.on('message', (raw) => {
      const { id, event, data } = JSON.parse(String(raw)) as { id: number; event: string; data: { since?: string } };
      if (event !== 'subscribe-server-logs') return peer.send(JSON.stringify({ id, ack: { ok: true } }));
      outstanding++;
      subscribes.push({ since: data.since, outstanding });
      const ack = () => {
        outstanding--;
        peer.send(JSON.stringify({ id, ack: { ok: true, serverId: 'api', room: 'server-logs-api', level: 'info', timestamp: new Date().toISOString() } }));
      };
      if (subscribes.length === 1) {
        // Live line 3 crosses the replay of 1 and 2; the gateway's pub/sub blinked: resync.
        peer.send(JSON.stringify(line(3)));
        peer.send(JSON.stringify({ event: 'resync-required', data: { serverIds: ['api'], reason: 'test', timestamp: new Date().toISOString() } }));
        peer.send(JSON.stringify(line(1)));
        peer.send(JSON.stringify(line(2)));
        setTimeout(ack, 100);
      } else {
        // The resync's replay: what came after `since` (lines 4 and 5 were missed live).
        for (const n of [4, 5]) if (!data.since || Number.parseInt(data.since, 10) < n) peer.send(JSON.stringify(line(n)));
        ack();
      }
    });
  });
  const port = (server.address() as { port: number }).port;
  const client = new VigilWsClient({ url: `http://127.0.0.1:${port}`, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const lines: string[] = [];
  t.match(await client.subscribeLogs('api', (e) => lines.push(e.position)), { ok: true });
  await waitFor(() => subscribes.length === 2 && lines.length === 5, { message: 'the resync subscribe and its replay' });
  t.same(lines, ['1-0', '2-0', '3-0', '4-0', '5-0'], 'every line once, in order');
  t.same(subscribes.map((s) => s.outstanding), [1, 1], 'the resync subscribe was sent only after the first was answered');
  t.equal(subscribes[1]!.since, '3-0', 'and it resumed from the last line delivered');
});

t.test('the /ws client: a subscribe is on the wire before an unsubscribe or a second subscribe asked right after it, and each is answered', async (t) => {
  // A peer of its own that plays the gateway: it answers every request ok and notes the order they came in.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const received: string[] = [];
  server.on('connection', (peer) => {
    peer.on('message', (raw) => {
      const { id, event, data } = JSON.parse(String(raw)) as { id: number; event: string; data?: { serverId?: string } };
      received.push(`${event} ${data?.serverId ?? ''}`);
      peer.send(JSON.stringify({ id, ack: { ok: true, serverId: data?.serverId } }));
    });
  });
  const port = (server.address() as { port: number }).port;
  const client = new VigilWsClient({ url: `http://127.0.0.1:${port}`, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const replaced = client.subscribeMetrics('api', () => undefined);
  const replacing = client.subscribeMetrics('api', () => undefined);
  const dropped = client.subscribeLogs('db', () => undefined);
  const unsubscribed = client.unsubscribe('logs', 'db');
  const acks = await Promise.all([replaced, replacing, dropped, unsubscribed]);
  t.match(acks, [{ ok: true, serverId: 'api' }, { ok: true, serverId: 'api' }, { ok: true, serverId: 'db' }, { ok: true, serverId: 'db' }], 'every call answered by its ack');
  t.same(received, ['subscribe-server-metrics api', 'subscribe-server-metrics api', 'subscribe-server-logs db', 'unsubscribe-server-logs db'], 'in the order asked');
});

/** A peer of its own that plays the gateway's log replay: at most `cap` lines after `since` per subscribe, then `more` with `next`; `live` lines pushed before the first ack. */
async function replayingPeer(t: Teardown, history: number, cap: number, live: (send: (n: number) => void) => void) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const line = (n: number) => JSON.stringify({ event: 'process:logs', data: { serverId: 'api', level: 'info', message: `line ${n}`, timestamp: new Date().toISOString(), position: `${n}-0` } });
  const subscribes: Array<string | undefined> = [];
  server.on('connection', (peer) => {
    peer.on('message', (raw) => {
      const { id, event, data } = JSON.parse(String(raw)) as { id: number; event: string; data: { since?: string } };
      if (event !== 'subscribe-server-logs') return peer.send(JSON.stringify({ id, ack: { ok: true } }));
      subscribes.push(data.since);
      if (subscribes.length === 1) live((n) => peer.send(line(n)));
      let n = data.since === undefined ? history + 1 : Number.parseInt(data.since, 10) + 1;
      let sent = 0;
      for (; n <= history && sent < cap; n++, sent++) peer.send(line(n));
      const more = n <= history;
      peer.send(JSON.stringify({ id, ack: { ok: true, serverId: 'api', room: 'server-logs-api', level: 'info', timestamp: new Date().toISOString(), replayed: sent, gap: false, more, ...(more ? { next: `${n - 1}-0` } : {}) } }));
    });
  });
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, subscribes };
}

t.test('the /ws client: a capped replay goes on from `next`, and held live lines past it come once, in order', async (t) => {
  // 25 lines of history after `since`, 10 a subscribe; live line 25 crosses the first (capped) replay.
  const peer = await replayingPeer(t, 25, 10, (send) => send(25));
  const client = new VigilWsClient({ url: peer.url, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  const lines: number[] = [];
  t.match(await client.subscribeLogs('api', (e) => lines.push(Number.parseInt(e.position, 10)), { since: '0-0' }), { ok: true, more: true, next: '10-0' });
  await waitFor(() => lines.length === 25, { message: 'every line of the history' });
  t.same(lines, Array.from({ length: 25 }, (_, i) => i + 1), 'every line once, in order');
  t.same(peer.subscribes, ['0-0', '10-0', '20-0'], 'each subscribe from where the last replay stopped');
});

t.test('the /ws client: lines held during a subscribe are bounded (HELD_MAX); those let go are read again, once each, in order', async (t) => {
  // More live lines than HELD_MAX cross the first subscribe (one without `since`).
  const total = HELD_MAX + 500;
  const peer = await replayingPeer(t, total, BACKFILL_MAX, (send) => {
    for (let n = 1; n <= total; n++) send(n);
  });
  const client = new VigilWsClient({ url: peer.url, token: ALL_ACCESS_TOKEN, WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: false });
  t.teardown(() => client.close());
  await client.connect();
  let count = 0;
  let inOrder = true;
  await client.subscribeLogs('api', (e) => {
    const n = Number.parseInt(e.position, 10);
    if (n !== count + 1) inOrder = false;
    count++;
  });
  await waitFor(() => count === total, { timeoutMs: 20_000, message: 'every line, read again after they were let go' });
  t.ok(inOrder, 'every line once, in order');
  t.equal(peer.subscribes[1], '0-999999999999999', 'read again from just before the oldest line let go');
  t.equal(peer.subscribes.length, 4, 'then in capped replays');
});
