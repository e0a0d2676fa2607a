// Servers that leave, all real: a collector process stopped with SIGTERM marks its servers
// `stopped`; after the retention exactly one of two gateway processes removes each of them with
// every key; and while collectors come and go with new server ids (pods restarting), Redis
// memory stays flat.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Keys, ServerEvents, type ServerRemoved, type StatusChangeEvent } from '@vigil/protocol';
import { closeRedis, createRedis } from '@vigil/store';
import { createCollector, type Collector } from '@vigil/collector';
import { startRedis, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, COLLECTOR_ENTRY, bearer, client, collect, emitAck, registered, spawnService, spawnTarget, startGatewayProcess } from './helpers.js';

const RETENTION_MS = 1500;

/** Sum of `vigil_gateway_servers_removed_total{reason}` on a gateway's /metrics. */
async function removedCount(metricsUrl: string, reason: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('vigil_gateway_servers_removed_total{') && line.includes(`reason="${reason}"`)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

type R = ReturnType<typeof createRedis>;

async function keysMatching(r: R, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return found;
}

async function usedMemory(r: R): Promise<number> {
  const info = await r.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

t.test('stopped, then removed once after the retention, by one of two gateways, with every key', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  const env = { VIGIL_SERVER_RETENTION_MS: String(RETENTION_MS) };
  const [a, b] = await Promise.all([startGatewayProcess(t, redis.url, env), startGatewayProcess(t, redis.url, env)]);
  const target = spawnTarget(t, 'vigil-e2e-lifecycle');
  const collector = spawnService(t, COLLECTOR_ENTRY, ['--redis-url', redis.url, '--collector-id', 'pod-1', '--interval', '250', '--pid', `app=${target.pid}`, '--self', 'pod-1-agent'], {});
  await registered(a.url, 'app');
  await registered(a.url, 'pod-1-agent');

  const watchers = await Promise.all([client(t, a.url), client(t, b.url)]);
  const statuses = watchers.map((w) => collect<StatusChangeEvent>(w, ServerEvents.serverStatusChanged));
  const removed = watchers.map((w) => collect<ServerRemoved>(w, ServerEvents.serverRemoved));
  for (const w of watchers) t.match(await emitAck(w, 'subscribe-server-metrics', { serverId: 'app' }), { ok: true });
  t.match(await emitAck(watchers[0]!, 'subscribe-server-logs', { serverId: 'app' }), { ok: true });

  await collector.stop('SIGTERM');
  t.equal(collector.exited()?.code, 0, 'the collector exits 0');
  await waitFor(() => statuses.every((s) => s.some((e) => e.status === 'stopped')), { message: 'watchers on both gateways see stopped' });
  for (const s of statuses) t.match(s.filter((e) => e.status === 'stopped'), [{ serverId: 'app', status: 'stopped', pid: target.pid }], 'once each');
  const listed = (await (await fetch(`${b.url}/api/servers/app`, { headers: bearer(ALL_ACCESS_TOKEN) })).json()) as { status: string };
  t.equal(listed.status, 'stopped', 'REST says stopped');

  await waitFor(() => removed.every((x) => x.length >= 1), { timeoutMs: 30_000, message: 'watchers on both gateways hear server-removed' });
  await waitFor(async () => (await r.hlen(Keys.registry)) === 0, { message: 'the registry empties' });
  const counts = await Promise.all([a, b].map((g) => removedCount(g.metricsUrl, 'retention')));
  t.equal(counts[0]! + counts[1]!, 2, `two servers, each removed by exactly one gateway (a: ${counts[0]}, b: ${counts[1]})`);
  for (const x of removed) t.match(x, [{ serverId: 'app', reason: 'retention' }], 'each watcher told once');
  t.equal(target.exitCode, null, 'the watched process itself was left alone');

  t.same(await keysMatching(r, '*app*'), [], 'no key of app is left');
  t.same(await keysMatching(r, '*pod-1-agent*'), [], 'no key of the agent server is left');
  t.equal(await r.zcard(Keys.heartbeats), 0, 'no heartbeat is left');
});

t.test('servers come and go (pods restarting): Redis memory stays flat', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(r));
  const env = { VIGIL_SERVER_RETENTION_MS: '1000' };
  await Promise.all([startGatewayProcess(t, redis.url, env), startGatewayProcess(t, redis.url, env)]);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-pods-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: 'silent' });
  const PODS = 4;
  const ROUNDS = 8;
  const WARM_UP = 2;
  const LINES = 200;
  const budgetEnds = Date.now() + 100_000;

  /** One round: PODS collectors, each a new server writing samples and log lines, then stopped cleanly and removed. */
  const round = async (n: number): Promise<number> => {
    const pods: Collector[] = [];
    for (let i = 0; i < PODS; i++) {
      const id = `pod-${n}-${i}`;
      const collector = createCollector({
        redisUrl: redis.url,
        collectorId: id,
        host: 'e2e',
        logger,
        stateDir: join(dir, id),
        targets: [{ id, command: [process.execPath, '-e', "setInterval(() => console.log('request served ' + 'x'.repeat(100)), 5)"], intervalMs: 200 }],
      });
      t.teardown(() => collector.stop());
      pods.push(collector);
    }
    await Promise.all(pods.map((p) => p.start()));
    await waitFor(async () => {
      const lens = await Promise.all(pods.map((_, i) => r.xlen(Keys.logs(`pod-${n}-${i}`))));
      return lens.every((l) => l >= LINES);
    }, { timeoutMs: 30_000, message: `round ${n}: log lines from every pod` });
    const peak = await usedMemory(r);
    await Promise.all(pods.map((p) => p.stop()));
    await waitFor(async () => (await r.hlen(Keys.registry)) === 0 && (await keysMatching(r, 'vigil:srv:*')).length === 0, {
      timeoutMs: 30_000,
      message: `round ${n}: every server removed`,
    });
    return peak;
  };

  let base = 0;
  let footprint = 0;
  let rounds = 0;
  for (let n = 0; n < ROUNDS && Date.now() < budgetEnds; n++) {
    const peak = await round(n);
    const after = await usedMemory(r);
    rounds++;
    footprint = Math.max(footprint, peak - after);
    if (n === WARM_UP - 1) base = after;
  }
  const end = await usedMemory(r);
  t.comment(`used_memory after warm-up ${base} B, after ${rounds} rounds ${end} B; one round of ${PODS} servers holds ~${footprint} B`);
  t.ok(rounds >= WARM_UP + 3, `enough rounds after the warm-up (${rounds})`);
  t.ok(footprint > 50_000, 'each round stored something measurable');
  t.ok(end - base < footprint / 2, `memory stays flat: grew ${end - base} B over ${rounds - WARM_UP} rounds (less than half of one round's ${footprint} B)`);
  t.equal(await r.zcard(Keys.heartbeats), 0, 'no heartbeat left');
});
