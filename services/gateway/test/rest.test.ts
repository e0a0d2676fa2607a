// The REST view: registry with status and latest sample, one server, paged history, health.
import t from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import { startRedis } from '@vigil/testkit';
import { startGateway, startStack } from './helpers.js';

t.test('registry, server, paged metrics history and errors', async (t) => {
  const { gw, collector } = await startStack(t);
  const positions: string[] = [];
  for (let n = 0; n < 25; n++) positions.push(await collector.sample('web', n));
  await collector.sample('db', 0, { status: 'exited', pid: 77 });

  const list = await gw.inject('/api/servers');
  t.equal(list.statusCode, 200);
  const servers = list.json().servers as Array<Record<string, unknown>>;
  t.same(servers.map((s) => s.serverId), ['db', 'web']);
  t.match(servers[1], { serverId: 'web', status: 'running', host: 'test-host', pid: 4242, latest: { position: positions[24] } });
  t.match(servers[0], { serverId: 'db', status: 'exited' }, 'an exited server is exited, not stale');

  const one = await gw.inject('/api/servers/web');
  t.equal(one.statusCode, 200);
  t.equal(one.json().latest.processInfo.uptime, 24);

  const missing = await gw.inject('/api/servers/nope');
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, ErrorCodes.SERVER_NOT_FOUND);

  // Page backwards in tens: 15..24, 5..14, 0..4.
  const seen: string[] = [];
  let before: string | null = null;
  let pages = 0;
  do {
    const q: string = `/api/servers/web/metrics?limit=10${before ? `&before=${before}` : ''}`;
    const page = (await gw.inject(q)).json() as { items: Array<{ position: string }>; next: string | null };
    seen.unshift(...page.items.map((i) => i.position));
    before = page.next;
    pages++;
  } while (before && pages < 10);
  t.equal(pages, 3, 'three pages of at most ten');
  t.same(seen, positions, 'paging backwards returns every sample once, in order');

  const forward = (await gw.inject(`/api/servers/web/metrics?after=${positions[19]}&limit=100`)).json();
  t.same(forward.items.map((i: { position: string }) => i.position), positions.slice(20), 'after= resumes forward');
  t.equal(forward.next, null);

  for (const bad of ['limit=0', 'limit=5000', 'limit=abc', 'before=yesterday', `before=${positions[1]}&after=${positions[0]}`, 'sql=1']) {
    const res = await gw.inject(`/api/servers/web/metrics?${bad}`);
    t.equal(res.statusCode, 400, `${bad} is a bad query`);
    t.equal(res.json().error.code, ErrorCodes.INVALID_QUERY);
  }
  const badId = await gw.inject('/api/servers/has%20space');
  t.equal(badId.statusCode, 400, 'a malformed server id is refused');

  t.same((await gw.inject('/healthz')).json(), { status: 'ok', gatewayId: gw.app.gatewayId });
  const ready = await gw.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().ready, true);
});

t.test('malformed entries in Redis are skipped, not served', async (t) => {
  const { redis, gw, collector } = await startStack(t);
  await collector.sample('good', 1);
  await redis.command('HSET', 'vigil:registry', 'bad', '{"serverId":"bad","pid":"not a number"}');
  await redis.command('HSET', 'vigil:registry', 'worse', 'not json at all');
  await redis.command('SET', 'vigil:srv:{good}:latest', '{"serverId":"good","__proto__":{"x":1}}');
  const servers = (await gw.inject('/api/servers')).json().servers as Array<Record<string, unknown>>;
  t.same(servers.map((s) => s.serverId), ['good'], 'only the well-formed entry is listed');
  t.equal(servers[0]!.latest, null, 'a malformed latest sample is not passed on');
});

t.test('the dashboard build is served at /, with caching that suits hashed assets', async (t) => {
  const { mkdtempSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dash-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>vigil</title>');
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { dashboardDir: dir });
  const bare = await startGateway(redis.url, { dashboardDir: join(dir, 'missing') });
  t.teardown(async () => {
    await Promise.all([gw.close(), bare.close()]);
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const index = await gw.inject('/');
  t.equal(index.statusCode, 200);
  t.match(index.body, /<title>vigil<\/title>/);
  t.equal(index.headers['cache-control'], 'no-cache');
  const asset = await gw.inject('/assets/app-abc123.js');
  t.equal(asset.statusCode, 200);
  t.match(asset.headers['cache-control'], /immutable/);
  t.equal((await gw.inject('/api/servers')).statusCode, 200, 'the API still answers');
  const notBuilt = await bare.inject('/');
  t.match(notBuilt.json(), { dashboard: /not built/ }, 'without a build, / says how to get one');
});
