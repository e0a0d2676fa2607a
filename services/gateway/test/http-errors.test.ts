// Every HTTP error, the gateway's and Fastify's and Node's parser's alike, answers
// `{ error: { code, message } }` with a code that says what happened: over real HTTP, and over
// raw sockets where the request never reaches a route (431, bad URL, not HTTP at all).
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import { ErrorCodes, type ErrorCode } from '@vigil/protocol';
import { startRedis } from '@vigil/testkit';
import { buildApp } from '../src/app.js';
import { ALL_ACCESS_TOKEN, TEST_AUTH, startGateway } from './helpers.js';

type Answer = { status: number; contentType: string | null; body: unknown };

/** Sends `request` as is and reads the answer until the server closes the connection. */
function raw(port: number, request: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? null;
      let json: unknown = body;
      try {
        json = JSON.parse(body);
      } catch {
        // left as text: the assertion shows it
      }
      resolve({ status, contentType, body: json });
    });
    socket.write(request);
  });
}

async function viaFetch(url: string, init?: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}

function isError(t: Test, answer: Answer, status: number, code: ErrorCode, what: string): void {
  t.equal(answer.status, status, `${what}: ${status}`);
  t.match(answer.contentType, /^application\/json/, `${what}: JSON`);
  t.match(answer.body, { error: { code, message: String } }, `${what}: ${code}`);
  t.same(Object.keys(answer.body as object), ['error'], `${what}: nothing but the error`);
}

t.test('the public app: routing, validation, bodies, parser errors, auth, origin, closing', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const app = await buildApp({ redisUrl: redis.url, auth: TEST_AUTH, dashboardDir: false, restRateLimit: 0, metricsPort: 0 });
  // The REST routes take no body yet: a route that does shows what bodies get (as a POST route will).
  app.post('/test/body', { schema: { body: Type.Object({ n: Type.Integer() }), response: { 200: Type.Object({ n: Type.Integer() }) } } }, async (req) => req.body as { n: number });
  app.get('/test/throws', async () => {
    throw new Error('a bug with a secret inside');
  });
  let closing: Answer | undefined;
  app.addHook('preClose', async () => {
    closing = await viaFetch(`${url}/healthz`);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${ALL_ACCESS_TOKEN}` };
  let closed = false;
  t.teardown(() => (closed ? undefined : app.close()));

  isError(t, await viaFetch(`${url}/nope`), 404, ErrorCodes.NOT_FOUND, 'an unknown route');
  isError(t, await viaFetch(`${url}/api/servers`, { method: 'POST', headers: auth }), 404, ErrorCodes.NOT_FOUND, 'a known path, another method');
  isError(t, await viaFetch(`${url}/api/servers/nope`, { headers: auth }), 404, ErrorCodes.SERVER_NOT_FOUND, 'an unknown server');
  isError(t, await viaFetch(`${url}/api/servers/has%20space`, { headers: auth }), 400, ErrorCodes.INVALID_PARAMS, 'a malformed server id');
  isError(t, await viaFetch(`${url}/api/servers/${'x'.repeat(2000)}`, { headers: auth }), 400, ErrorCodes.INVALID_PARAMS, 'an id longer than any');
  isError(t, await viaFetch(`${url}/api/servers/web/metrics?limit=0`, { headers: auth }), 400, ErrorCodes.INVALID_QUERY, 'a bad query');

  const json = { 'content-type': 'application/json' };
  isError(t, await viaFetch(`${url}/test/body`, { method: 'POST', headers: json, body: '{"n":' }), 400, ErrorCodes.MALFORMED_BODY, 'broken JSON');
  isError(t, await viaFetch(`${url}/test/body`, { method: 'POST', headers: json, body: '' }), 400, ErrorCodes.MALFORMED_BODY, 'an empty JSON body');
  isError(t, await viaFetch(`${url}/test/body`, { method: 'POST', headers: json, body: '{"n":"x"}' }), 400, ErrorCodes.INVALID_PAYLOAD, 'a body that fails its schema');
  isError(t, await viaFetch(`${url}/test/body`, { method: 'POST', headers: json, body: JSON.stringify({ n: 1, pad: 'x'.repeat(100_000) }) }), 413, ErrorCodes.BODY_TOO_LARGE, 'a body over 64 KiB');
  isError(t, await viaFetch(`${url}/test/body`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<n/>' }), 415, ErrorCodes.UNSUPPORTED_MEDIA_TYPE, 'XML');
  t.same((await viaFetch(`${url}/test/body`, { method: 'POST', headers: json, body: '{"n":3}' })).body, { n: 3 }, 'a good body passes');

  const thrown = await viaFetch(`${url}/test/throws`);
  isError(t, thrown, 500, ErrorCodes.INTERNAL, 'an unexpected error');
  t.notMatch(JSON.stringify(thrown.body), /secret/, 'its message stays in the log');

  isError(t, await viaFetch(`${url}/api/servers`), 401, ErrorCodes.UNAUTHORIZED, 'no token');
  isError(t, await viaFetch(`${url}/api/servers`, { headers: { authorization: 'Bearer nope' } }), 401, ErrorCodes.UNAUTHORIZED, 'a bad token');
  isError(t, await viaFetch(`${url}/healthz`, { headers: { origin: 'http://evil.example' } }), 403, ErrorCodes.ORIGIN_REFUSED, 'a foreign origin');

  // Before any route: Fastify's router and Node's HTTP parser.
  isError(t, await raw(port, 'GET /api/servers/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400, ErrorCodes.BAD_URL, 'broken percent-encoding');
  isError(t, await raw(port, 'GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n'), 400, ErrorCodes.BAD_URL, 'a control character in the URL');
  isError(t, await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, ErrorCodes.HEADERS_TOO_LARGE, 'headers over 16 KiB');
  isError(t, await raw(port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431, ErrorCodes.HEADERS_TOO_LARGE, 'a request line over 16 KiB');
  isError(t, await raw(port, 'NOT HTTP AT ALL\r\n\r\n'), 400, ErrorCodes.BAD_REQUEST, 'not HTTP');
  t.equal((await viaFetch(`${url}/healthz`)).status, 200, 'and the gateway serves on');

  // Metrics port: the same shapes.
  const metrics = app.metricsAddress()!;
  isError(t, await viaFetch(`http://127.0.0.1:${metrics.port}/nope`), 404, ErrorCodes.NOT_FOUND, 'metrics port: unknown route');
  isError(t, await raw(metrics.port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, ErrorCodes.HEADERS_TOO_LARGE, 'metrics port: headers over 16 KiB');
  isError(t, await raw(metrics.port, 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400, ErrorCodes.BAD_URL, 'metrics port: bad URL');
  t.equal((await viaFetch(metrics.url)).status, 200, 'metrics still served');

  await app.close();
  closed = true;
  isError(t, closing!, 503, ErrorCodes.SHUTTING_DOWN, 'a request while the app closes');
});

t.test('the rate limit answers 429 in the same shape, unknown routes included', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url, { dashboardDir: false, restRateLimit: 3 });
  t.teardown(() => gw.close());
  const auth = { authorization: `Bearer ${ALL_ACCESS_TOKEN}` };
  const answers: Answer[] = [];
  for (let i = 0; i < 3; i++) answers.push(await viaFetch(`${gw.url}/nope-${i}`, { headers: auth }));
  t.same(answers.map((a) => a.status), [404, 404, 404], 'unknown routes count against the limit');
  isError(t, await viaFetch(`${gw.url}/api/servers`, { headers: auth }), 429, ErrorCodes.RATE_LIMITED, 'past the limit');
  isError(t, await viaFetch(`${gw.url}/nope`, { headers: auth }), 429, ErrorCodes.RATE_LIMITED, 'past the limit, an unknown route');
  t.equal((await viaFetch(`${gw.url}/healthz`)).status, 200, 'probes are never limited');
});
