// The public edge: origins (never "Origin equals Host"), REST headers, CORS and rate limit, ids
// as long as the protocol allows, per-address connection caps, binary attachments refused, slow
// consumers disconnected, and log replay that never piles up in a paused reader's buffer.
import t from 'tap';
import { request, type IncomingMessage } from 'node:http';
import { io } from 'socket.io-client';
import { ErrorCodes, NAMESPACE, SERVER_ID_MAX_LENGTH, ServerEvents } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { unsentBytes } from '../src/slow-consumers.js';
import { clientAddress, trustFunction } from '../src/client-address.js';
import { ALL_ACCESS_TOKEN, connectClient, emitAck, startStack, type RunningGateway } from './helpers.js';

const bearer = { authorization: `Bearer ${ALL_ACCESS_TOKEN}` };

type Answer = { status: number; body: string; headers: Record<string, string | string[] | undefined> };

/** A raw request, so that Host and Origin are exactly what a browser (or an attacker) sends. */
function raw(gw: RunningGateway, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '', headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

const polling = (origin: string, host: string) => ({ path: '/socket.io/?EIO=4&transport=polling', headers: { origin, host } });
const websocket = (origin: string, host: string) => ({
  path: '/socket.io/?EIO=4&transport=websocket',
  headers: { origin, host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
});

t.test('origins: loopback of its own port by default; a listed one; never Origin equals Host', async (t) => {
  const { gws } = await startStack(t, { gateways: 2, gateway: {} });
  const gw = gws[0]!;
  const own = `127.0.0.1:${gw.port}`;
  for (const [name, make] of [['polling', polling], ['websocket', websocket]] as const) {
    const ok = make(`http://${own}`, own);
    t.ok([200, 101].includes((await raw(gw, ok.path, ok.headers)).status), `${name}: a page of the gateway itself connects`);
    const foreign = make('http://evil.example', own);
    const refused = await raw(gw, foreign.path, foreign.headers);
    t.equal(refused.status, 403, `${name}: a foreign page is refused`);
    t.match(JSON.parse(refused.body || '{}'), name === 'polling' ? { error: { code: ErrorCodes.ORIGIN_REFUSED } } : {}, `${name}: with its code`);
    // DNS rebinding: the attacker's name points at the gateway; Host and Origin agree.
    const rebinding = make(`http://evil.example:${gw.port}`, `evil.example:${gw.port}`);
    t.equal((await raw(gw, rebinding.path, rebinding.headers)).status, 403, `${name}: a DNS-rebinding shaped request is refused`);
  }
  const script = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`);
  t.equal(script.status, 200, 'no Origin at all (a script) connects');

  const listed = await startStack(t, { gateway: { publicOrigins: ['https://vigil.example.com'] } });
  const lgw = listed.gw;
  const lown = `127.0.0.1:${lgw.port}`;
  t.equal((await raw(lgw, polling('https://vigil.example.com', lown).path, polling('https://vigil.example.com', lown).headers)).status, 200, 'a listed origin connects');
  t.equal((await raw(lgw, polling(`http://${lown}`, lown).path, polling(`http://${lown}`, lown).headers)).status, 403, 'with a list, only the list');
  const client = io(`${lgw.url}${NAMESPACE}`, { transports: ['polling'], forceNew: true, reconnection: false, extraHeaders: { origin: 'http://evil.example' }, auth: { token: ALL_ACCESS_TOKEN } });
  t.teardown(() => client.close());
  const error = await new Promise<Error>((resolve) => client.once('connect_error', resolve));
  t.ok(error, `socket.io-client sees connect_error (${error.message})`);

  // REST: a foreign Origin is refused; a listed one gets CORS headers.
  const rest = await fetch(`${lgw.url}/api/servers`, { headers: { origin: 'http://evil.example' } });
  t.equal(rest.status, 403, 'REST: a foreign origin is refused');
  t.equal(((await rest.json()) as { error: { code: string } }).error.code, ErrorCodes.ORIGIN_REFUSED);
  const cors = await fetch(`${lgw.url}/api/servers`, { headers: { origin: 'https://vigil.example.com', ...bearer } });
  t.equal(cors.status, 200);
  t.equal(cors.headers.get('access-control-allow-origin'), 'https://vigil.example.com', 'REST: CORS for a listed origin');
  // The bearer check runs after the edge: a browser on a listed origin can read why it was refused.
  const noToken = await fetch(`${lgw.url}/api/servers`, { headers: { origin: 'https://vigil.example.com' } });
  t.equal(noToken.status, 401, 'REST without a token: 401');
  t.equal(noToken.headers.get('access-control-allow-origin'), 'https://vigil.example.com', 'a 401 still carries CORS for a listed origin');
  t.equal(((await noToken.json()) as { error: { code: string } }).error.code, ErrorCodes.UNAUTHORIZED);
  // An admin page on a listed origin may remove a server: the preflight for DELETE allows it.
  const preflight = await fetch(`${lgw.url}/api/servers/web`, {
    method: 'OPTIONS',
    headers: { origin: 'https://vigil.example.com', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
  });
  t.ok(preflight.status < 300, `the DELETE preflight from a listed origin is answered (${preflight.status})`);
  t.match(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/, 'DELETE is an allowed method');
});

t.test('REST: security headers, a rate limit per address, ids as long as the protocol allows', async (t) => {
  const { gw, collector } = await startStack(t, { gateway: { restRateLimit: 20 } });
  const longId = 'a'.repeat(SERVER_ID_MAX_LENGTH);
  await collector.sample(longId, 1);
  const res = await fetch(`${gw.url}/api/servers/${longId}`, { headers: bearer });
  t.equal(res.status, 200, `a ${SERVER_ID_MAX_LENGTH}-character id is reachable over REST`);
  t.equal(((await res.json()) as { serverId: string }).serverId, longId);
  const csp = res.headers.get('content-security-policy') ?? '';
  t.match(csp, /default-src 'self'/, 'a Content-Security-Policy');
  t.notMatch(csp, /unsafe-inline|upgrade-insecure-requests/, 'without unsafe-inline or upgrade-insecure-requests');
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from the gateway only, no eval');
  t.notMatch(csp, /unsafe-eval/, "no 'unsafe-eval': the validators run without code generation");
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
  t.equal((await fetch(`${gw.url}/metrics`)).status, 404, '/metrics is not on the public port');

  const answers = [];
  for (let i = 0; i < 25; i++) answers.push(await fetch(`${gw.url}/api/servers`, { headers: bearer }));
  const limited = answers.filter((a) => a.status === 429);
  t.ok(limited.length >= 4, `past 20 a minute, 429 (${limited.length} of 25)`);
  t.equal(((await limited[0]!.json()) as { error: { code: string } }).error.code, ErrorCodes.RATE_LIMITED, 'in vigil error shape');
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'probes are never limited');
});

t.test('per-address caps on connections and handshakes; behind a trusted proxy, per forwarded address', async (t) => {
  const { gw } = await startStack(t, { gateway: { maxConnectionsPerAddress: 3, handshakesPerSecond: 1000, trustProxy: ['127.0.0.1'] } });
  const open = (address?: string) => connectClient(gw.url, address ? { extraHeaders: { 'x-forwarded-for': address } } : {});
  const mine = await Promise.all([open(), open(), open()]);
  t.teardown(() => mine.forEach((s) => s.close()));
  const fourth = await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`);
  t.equal(fourth.status, 429, 'a fourth connection from one address is refused');
  t.match(await fourth.json(), { error: { code: ErrorCodes.TOO_MANY_CONNECTIONS } });
  const other = await open('203.0.113.7');
  t.teardown(() => other.close());
  t.ok(other.connected, 'another client behind the trusted proxy is counted on its own');
  mine[0]!.close();
  await waitFor(async () => (await fetch(`${gw.url}/socket.io/?EIO=4&transport=polling`)).status === 200, { message: 'a slot frees when a connection closes' });

  const slow = await startStack(t, { gateway: { handshakesPerSecond: 2 } });
  const statuses = await Promise.all(Array.from({ length: 10 }, () => fetch(`${slow.gw.url}/socket.io/?EIO=4&transport=polling`).then((r) => r.status)));
  t.ok(statuses.filter((s) => s === 429).length >= 5, `handshakes per second per address (${statuses.join(',')})`);
});

t.test('the forwarded client address: only an IP address a trusted hop wrote', async (t) => {
  const req = (xff: string) => ({ socket: { remoteAddress: '127.0.0.1' }, headers: { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;
  const junk = 'x'.repeat(8000);
  t.equal(clientAddress(req(`${junk}, 203.0.113.9`), trustFunction(true)), '203.0.113.9', 'every hop trusted: text that is not an address is not a client (nor a key of 8,000 characters)');
  t.equal(clientAddress(req('198.51.100.1, 203.0.113.9'), trustFunction(true)), '198.51.100.1', 'every hop trusted: the first address');
  t.equal(clientAddress(req('198.51.100.1, 203.0.113.9'), trustFunction(1)), '203.0.113.9', 'one hop: what the balancer appended');
  t.equal(clientAddress(req('198.51.100.1'), trustFunction(false)), '127.0.0.1', 'no proxy trusted: the peer');
});

t.test('binary attachments: the sender is told and disconnected, others unaffected', async (t) => {
  const { gw, collector } = await startStack(t);
  await collector.register('api');
  const bystander = await connectClient(gw.url);
  const sender = await connectClient(gw.url);
  t.teardown(() => [bystander, sender].forEach((s) => s.close()));
  const reason = new Promise<{ code: string }>((resolve) => sender.once(ServerEvents.disconnectReason, resolve));
  const gone = new Promise<string>((resolve) => sender.once('disconnect', resolve));
  sender.emit('subscribe-server-metrics', { serverId: 'api', blob: Buffer.alloc(1000) });
  t.match(await reason, { code: ErrorCodes.INVALID_PAYLOAD }, 'disconnect-reason says why');
  t.ok(await gone, 'and the sender is disconnected');
  t.match(await emitAck(bystander, 'subscribe-server-metrics', { serverId: 'api' }), { ok: true }, 'the bystander goes on');
});

t.test('a paused reader: replay waits for it; live traffic past the limit disconnects it', async (t) => {
  const { gw, collector } = await startStack(t, { gateway: { maxBufferedBytes: 256 * 1024 } });
  for (let i = 0; i < 10_000; i += 1000) {
    await collector.lines('chatty', Array.from({ length: 1000 }, (_, k) => ({ level: 'info' as const, message: `line ${i + k} ${'x'.repeat(400)}` })));
  }
  const reader = await connectClient(gw.url);
  t.teardown(() => reader.close());
  const server = gw.app.io.of(NAMESPACE).sockets.get(reader.id!)!;
  reader.emit('subscribe-server-logs', { serverId: 'chatty', backfill: 10_000 });
  (reader.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
  let peak = 0;
  const until = Date.now() + 3000;
  while (Date.now() < until && server.connected) {
    peak = Math.max(peak, unsentBytes(server.conn));
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(peak < 256 * 1024, `backfill 10,000 to a paused reader: at most ${peak} bytes wait in the gateway`);
  // Live lines are not paged: past the limit the reader is dropped.
  await waitFor(
    async () => {
      await collector.lines('chatty', Array.from({ length: 100 }, (_, k) => ({ level: 'info' as const, message: `live ${k} ${'y'.repeat(1000)}` })));
      return !server.connected;
    },
    { timeoutMs: 30_000, intervalMs: 10, message: 'the slow consumer to be disconnected' },
  );
  t.pass('a paused reader past maxBufferedBytes is disconnected');
});
