// /api/openapi.json: a valid OpenAPI 3 document that covers every route the app serves, each
// with a response schema; and response schemas (which serialize) drop nothing clients read.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Keys, NAMESPACE, ServerEvents, logsLevelRoom } from '@vigil/protocol';
import { BatchWriter, LogStore, ServerStore, broadcastFrame, closeRedis, createRedis } from '@vigil/store';
import { startRedis } from '@vigil/testkit';
import { startGateway, startStack } from './helpers.js';

type Operation = { security?: unknown[]; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> } };

/** The routes the document leaves out, and why. Any other route must be in it. */
const LEFT_OUT: Record<string, string> = {
  'OPTIONS *': 'CORS preflight, answered by @fastify/cors with headers and no body',
  'GET /': 'the dashboard page (or, without a build, a pointer to this document)',
  'GET /*': 'the dashboard build, files for a browser',
  'GET /ws': 'the WebSocket upgrade: frames, not REST; docs/protocol.md describes it',
};

/** `/api/servers/:id` → `/api/servers/{id}` */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

for (const dashboard of ['built', 'not built'] as const) {
  t.test(`every route is in /api/openapi.json with a response schema (dashboard ${dashboard})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-openapi-'));
    if (dashboard === 'built') writeFileSync(join(dir, 'index.html'), '<!doctype html><title>vigil</title>');
    const redis = await startRedis();
    t.teardown(() => redis.close());
    const gw = await startGateway(redis.url, { dashboardDir: dir });
    t.teardown(async () => {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // No token: the document is public.
    const res = await fetch(`${gw.url}/api/openapi.json`);
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /application\/json/);
    t.ok(res.headers.get('x-ratelimit-limit'), 'behind the rate limit');
    t.ok(res.headers.get('content-security-policy'), 'with the security headers');
    const doc = (await res.json()) as Document;

    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as Record<string, unknown>);
    t.same(result.errors, undefined, 'no validation errors');
    t.ok(result.valid, 'a valid OpenAPI document');
    t.match(validator.version, /^3\./, 'OpenAPI 3');
    t.match(doc.components?.securitySchemes?.bearer, { type: 'http', scheme: 'bearer' }, 'bearer auth is a security scheme');

    const routes = gw.app.routeTable().filter((r) => r.method !== 'HEAD'); // HEAD: Fastify's twin of each GET
    t.ok(routes.some((r) => r.url === '/api/servers/:id/logs'), 'the route table holds the REST routes');
    for (const { method, url, hidden } of routes) {
      const name = `${method} ${url}`;
      if (name in LEFT_OUT) {
        t.ok(hidden, `${name} is left out (${LEFT_OUT[name]})`);
        continue;
      }
      t.notOk(hidden, `${name} is not hidden`);
      const op = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      if (!op) {
        t.fail(`${name} is in the document`);
        continue;
      }
      const responses = Object.entries(op.responses ?? {});
      t.ok(responses.some(([status, r]) => /^2/.test(status) && r.content?.['application/json']?.schema), `${name} has a 2xx response schema`);
      for (const [status, r] of responses) t.ok(r.content?.['application/json']?.schema, `${name} ${status} has a schema`);
      const needsToken = url.startsWith('/api/') && url !== '/api/openapi.json';
      if (needsToken) {
        t.same(op.security, [{ bearer: [] }], `${name} requires the bearer token`);
        t.ok(op.responses?.['401'], `${name} documents 401`);
      } else {
        t.same(op.security, [], `${name} needs no token`);
      }
    }
    // And nothing in the document that the app does not serve.
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) t.ok(served.has(`${method} ${path}`), `${method} ${path} is served`);
    }
  });
}

t.test('response schemas drop nothing the store returns', async (t) => {
  const { redis, gw, collector } = await startStack(t);
  // Never stale while the test compares (a busy machine can take seconds between two reads).
  const staleAfterMs = 3_600_000;
  await collector.sample('web', 1, { staleAfterMs });
  await collector.sample('db', 2, { status: 'exited', pid: null, command: null, startedAt: null, restarts: 3, staleAfterMs });
  await collector.register('quiet', { staleAfterMs });
  // A log line whose metadata nests, as shipped JSON logs do.
  const now = new Date().toISOString();
  const metadata = { req: { id: 7, path: '/x', tags: ['a', null] }, ok: true, n: 1.5 };
  await new BatchWriter(collector.redis).write({
    appends: [
      {
        stream: Keys.logs('web'),
        maxLen: 100,
        latestKey: null,
        body: JSON.stringify({ serverId: 'web', logData: { level: 'warn', message: 'slow', timestamp: now, metadata }, timestamp: now }),
        frame: broadcastFrame('test', NAMESPACE, logsLevelRoom('web', 'warn'), ServerEvents.processLogs),
      },
    ],
    registry: [],
    heartbeats: [],
  });

  const client = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(client));
  const store = new ServerStore(client);
  const logs = new LogStore(client);

  const list = await gw.inject('/api/servers');
  t.same(list.json(), JSON.parse(JSON.stringify({ servers: await store.list(), next: null, total: 3 })), 'GET /api/servers (one page of all three)');
  t.ok((list.json().servers as unknown[]).length === 3);
  for (const id of ['web', 'db', 'quiet']) {
    const one = await gw.inject(`/api/servers/${id}`);
    t.same(one.json(), JSON.parse(JSON.stringify(await store.get(id))), `GET /api/servers/${id}`);
  }
  const metrics = await gw.inject('/api/servers/web/metrics');
  t.same(metrics.json(), JSON.parse(JSON.stringify({ serverId: 'web', ...(await store.metrics('web', { limit: 100 })) })), 'metrics page');
  const page = await gw.inject('/api/servers/web/logs');
  const expected = { serverId: 'web', level: 'trace', ...(await logs.page('web', { direction: 'backward', level: 'trace', limit: 100 })) };
  t.same(page.json(), JSON.parse(JSON.stringify(expected)), 'logs page');
  t.same(page.json().items[0].logData.metadata, metadata, 'nested metadata is kept');
  const since = await gw.inject(`/api/servers/web/logs?since=0-1`);
  t.equal(since.json().gap, false, 'gap is kept');
});

t.test('the document is the same without a running dashboard or rate limit', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url, { dashboardDir: false, restRateLimit: 0 });
  t.teardown(() => gw.close());
  const doc = (await (await fetch(`${gw.url}/api/openapi.json`)).json()) as Document;
  t.ok(doc.paths['/api/servers/{id}']?.get, 'REST routes are documented');
  t.notOk(doc.paths['/api/servers']?.get?.responses?.['429'], 'no 429 without a rate limit');
  t.ok(doc.paths['/api/servers']?.get?.responses?.['401'], '401 is documented');
});
