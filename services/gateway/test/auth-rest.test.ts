// Who may see what over REST, against a real gateway: a bearer token on every /api route, only the
// servers it may see listed, the others indistinguishable from servers that do not exist.
import t from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import { mintToken, secretKey } from '../src/auth/mint.js';
import { pino } from 'pino';
import { startRedis } from '@vigil/testkit';
import { buildApp, type GatewayOptions } from '../src/app.js';
import { startGateway, startStack, testToken } from './helpers.js';

t.test('every /api route needs a valid bearer token; health and the dashboard stay open', async (t) => {
  const { gw, collector } = await startStack(t);
  await collector.sample('web-1', 1);
  const other = secretKey('another-secret-that-is-32-bytes-long!!');
  const cases: Array<[string, Record<string, string>, string, RegExp, boolean]> = [
    ['no token', {}, ErrorCodes.UNAUTHORIZED, /no token/, false],
    ['another scheme', { authorization: 'Basic YWRtaW46YWRtaW4=' }, ErrorCodes.UNAUTHORIZED, /Bearer/, true],
    ['garbage', { authorization: 'Bearer not-a-jwt' }, ErrorCodes.UNAUTHORIZED, /malformed/, true],
    ['bad signature', { authorization: `Bearer ${await mintToken(other, { sub: 'a', vigil: { servers: ['*'] }, ttlSeconds: 60 })}` }, ErrorCodes.UNAUTHORIZED, /bad signature/, true],
    ['wrong audience', { authorization: `Bearer ${await testToken({ audience: 'elsewhere' })}` }, ErrorCodes.UNAUTHORIZED, /wrong audience/, true],
    ['expired', { authorization: `Bearer ${await testToken({ now: Date.now() - 300_000, ttlSeconds: 60 })}` }, ErrorCodes.TOKEN_EXPIRED, /expired/, true],
  ];
  for (const url of ['/api/servers', '/api/servers/web-1', '/api/servers/web-1/metrics', '/api/servers/web-1/logs']) {
    for (const [what, headers, code, message, invalid] of cases) {
      const res = await gw.app.inject({ url, headers });
      t.equal(res.statusCode, 401, `${url}, ${what}: 401`);
      t.match(res.json(), { error: { code, message } }, `${url}, ${what}: ${code}`);
      t.equal(res.headers['www-authenticate'], invalid ? 'Bearer realm="vigil", error="invalid_token"' : 'Bearer realm="vigil"', `${url}, ${what}: a Bearer challenge`);
    }
  }
  const inQuery = await gw.app.inject({ url: `/api/servers?token=${await testToken()}` });
  t.equal(inQuery.statusCode, 401, 'a token in the query is not read');
  for (const open of ['/healthz', '/readyz']) t.equal((await gw.app.inject(open)).statusCode, 200, `${open} stays open`);
});

t.test('a web-* token without logs: lists only web-*, others are 404 as if missing, logs are 403', async (t) => {
  const { gw, collector } = await startStack(t);
  for (const id of ['web-1', 'web-2', 'db-1']) await collector.sample(id, 1);
  await collector.lines('web-1', [{ level: 'info', message: 'hello' }]);
  const web = { authorization: `Bearer ${await testToken({ vigil: { servers: ['web-*'] } })}` };
  const all = { authorization: `Bearer ${await testToken({ vigil: { servers: ['*'], logs: true } })}` };

  const list = await gw.app.inject({ url: '/api/servers', headers: web });
  t.equal(list.statusCode, 200);
  t.same((list.json().servers as Array<{ serverId: string }>).map((s) => s.serverId), ['web-1', 'web-2'], 'only web-*');
  const everything = await gw.app.inject({ url: '/api/servers', headers: all });
  t.same((everything.json().servers as Array<{ serverId: string }>).map((s) => s.serverId), ['db-1', 'web-1', 'web-2'], 'a * token sees all');

  t.equal((await gw.app.inject({ url: '/api/servers/web-1', headers: web })).statusCode, 200);
  t.equal((await gw.app.inject({ url: '/api/servers/web-1/metrics', headers: web })).statusCode, 200);
  const hidden = await gw.app.inject({ url: '/api/servers/db-1', headers: web });
  const missing = await gw.app.inject({ url: '/api/servers/nope-1', headers: all });
  t.equal(hidden.statusCode, 404);
  t.same(hidden.json(), { error: { code: ErrorCodes.SERVER_NOT_FOUND, message: 'no server "db-1" is registered' } }, 'a hidden server reads as a missing one');
  t.same(missing.json(), { error: { code: ErrorCodes.SERVER_NOT_FOUND, message: 'no server "nope-1" is registered' } });
  const hiddenMissing = await gw.app.inject({ url: '/api/servers/db-2', headers: web });
  t.same({ status: hiddenMissing.statusCode, body: hiddenMissing.json().error.code }, { status: hidden.statusCode, body: hidden.json().error.code }, 'an existing hidden id and a missing hidden id answer alike');
  for (const sub of ['metrics', 'logs']) {
    const res = await gw.app.inject({ url: `/api/servers/db-1/${sub}`, headers: web });
    t.equal(res.statusCode, 404, `db-1 ${sub}: 404`);
    t.equal(res.json().error.code, ErrorCodes.SERVER_NOT_FOUND);
  }
  const logs = await gw.app.inject({ url: '/api/servers/web-1/logs', headers: web });
  t.equal(logs.statusCode, 403, 'logs of a visible server without the logs permission');
  t.match(logs.json(), { error: { code: ErrorCodes.FORBIDDEN, message: /may not read logs/ } });
  const allowed = await gw.app.inject({ url: '/api/servers/web-1/logs', headers: all });
  t.equal(allowed.statusCode, 200);
  t.equal(allowed.json().items.length, 1, 'with logs, the lines');
});

t.test('auth is a required option; VIGIL_AUTH=none is said out loud at every start', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  // The type requires auth; a JavaScript caller may still leave it out.
  await t.rejects(buildApp({ redisUrl: redis.url } as GatewayOptions), { code: ErrorCodes.AUTH_CONFIG_INVALID, message: /the auth option is required/ }, 'no auth option: no gateway');
  for (let start = 1; start <= 2; start++) {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const gw = await startGateway(redis.url, { auth: { mode: 'none' }, logger });
    t.teardown(() => gw.close());
    t.ok(lines.some((l) => l.level === 40 && /authentication is off/.test(l.msg)), `start ${start}: a warning that auth is off`);
    const open = await gw.app.inject('/api/servers');
    t.equal(open.statusCode, 200, `start ${start}: with auth off, no token is needed`);
  }
});
