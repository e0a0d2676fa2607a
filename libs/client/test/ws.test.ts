// @vigil/client/ws against real gateways: acks by id, samples and log lines each once and in
// order, and after its gateway goes away, re-subscribed by itself on another one (logs with
// `since`, so no line is missed or repeated).
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { ErrorCodes, comparePositions, type ProcessInfoEvent, type ProcessLogsEvent } from '@vigil/protocol';
import { startRedis, startTcpBalancer, waitFor } from '@vigil/testkit';
import { VigilWsClient, type WebSocketConstructor } from '../src/ws/index.js';
import { ALL_ACCESS_TOKEN, Publisher, startGateway } from './fixtures/cluster.js';

const increasing = (positions: string[]) => positions.every((p, i) => i === 0 || comparePositions(positions[i - 1]!, p) < 0);

t.test('the /ws client: acks, every line once in order across a gateway going away, samples in order', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const publisher = new Publisher(redis.url);
  t.teardown(() => publisher.close());
  const a = await startGateway(redis.url);
  t.teardown(() => a.close());
  const b = await startGateway(redis.url);
  t.teardown(() => b.close());
  const lb = await startTcpBalancer([a.port, b.port]);
  t.teardown(() => lb.close());
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
