// The pipeline end to end, all real: a collector process samples real processes and publishes to
// a private redis-server; two gateway processes fan out to clients connected to each.
import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerEvents, comparePositions, type ProcessInfoEvent, type StatusChangeEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, apiGet, client, collect, emitAck, killAndWait, spawnService, spawnTarget, startGatewayProcess } from './helpers.js';

t.test('collector → Redis → two gateways → clients, with real processes', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const steady = spawnTarget(t, 'vigil-e2e-steady');
  const svcV1 = spawnTarget(t, 'vigil-e2e-svc-v1');
  const pidfile = join(dir, 'svc.pid');
  writeFileSync(pidfile, `${svcV1.pid}\n`);

  const [a, b] = await Promise.all([startGatewayProcess(t, redis.url), startGatewayProcess(t, redis.url)]);
  const collector = spawnService(
    t,
    COLLECTOR_ENTRY,
    ['--redis-url', redis.url, '--collector-id', 'e2e', '--interval', '250', '--pid', `steady=${steady.pid}`, '--pidfile', `svc=${pidfile}`],
    {},
  );
  await waitFor(
    async () => {
      if (collector.exited()) throw new Error(`collector exited: ${collector.output()}`);
      const res = await apiGet(`${a.url}/api/servers`);
      const body = (await res.json()) as { servers: Array<{ serverId: string }> };
      return body.servers.length === 2;
    },
    { timeoutMs: 30_000, message: 'both servers registered' },
  );

  const ca = await client(t, a.url);
  const cb = await client(t, b.url);
  const infoA = collect<ProcessInfoEvent>(ca, ServerEvents.processInfo);
  const infoB = collect<ProcessInfoEvent>(cb, ServerEvents.processInfo);
  const statusA = collect<StatusChangeEvent>(ca, ServerEvents.serverStatusChanged);
  const statusB = collect<StatusChangeEvent>(cb, ServerEvents.serverStatusChanged);
  for (const c of [ca, cb]) {
    for (const serverId of ['steady', 'svc']) t.match(await emitAck(c, 'subscribe-server-metrics', { serverId }), { ok: true });
  }
  // The latest sample arrives immediately on subscribe, on both gateways.
  await waitFor(() => infoA.some((i) => i.serverId === 'steady') && infoB.some((i) => i.serverId === 'steady'), {
    timeoutMs: 3000,
    message: 'the latest sample on subscribe',
  });

  // Every sample of `steady` after both subscribed reaches each client exactly once, in order.
  const both = () => infoA.filter((i) => i.serverId === 'steady').length >= 12 && infoB.filter((i) => i.serverId === 'steady').length >= 12;
  await waitFor(both, { timeoutMs: 20_000, message: 'a dozen samples on both clients' });
  const seqA = infoA.filter((i) => i.serverId === 'steady').map((i) => i.position);
  const seqB = infoB.filter((i) => i.serverId === 'steady').map((i) => i.position);
  const start = [seqA[1]!, seqB[1]!].sort(comparePositions)[1]!; // skip the latest-on-subscribe
  const fromA = seqA.filter((p) => comparePositions(p, start) >= 0);
  const fromB = seqB.filter((p) => comparePositions(p, start) >= 0);
  const common = Math.min(fromA.length, fromB.length);
  t.same(fromA.slice(0, common), fromB.slice(0, common), 'both clients saw the same samples');
  for (const [name, seq] of [['A', seqA], ['B', seqB]] as const) {
    t.ok(seq.every((p, i) => i === 0 || comparePositions(p, seq[i - 1]!) > 0), `client on ${name}: strictly in order, no duplicate`);
  }
  const history = (await (await apiGet(`${a.url}/api/servers/steady/metrics?limit=1000&after=${start}`)).json()) as { items: Array<{ position: string }> };
  const stored = [start, ...history.items.map((i) => i.position)].slice(0, common);
  t.same(fromA.slice(0, common), stored, 'no sample stored in Redis was missed');
  const last = infoA.filter((i) => i.serverId === 'steady').at(-1)!;
  t.equal(last.processInfo.pid, steady.pid, 'samples describe the real process');
  t.ok(last.processInfo.memory.rss > 1_000_000, 'with its real memory');
  t.ok(last.processInfo.uptime >= 0 && /^\d{4}-\d\d-\d\dT/.test(last.processInfo.timestamp));

  // A restarted service: the pidfile names a new process, the old one exits.
  const svcV2 = spawnTarget(t, 'vigil-e2e-svc-v2');
  writeFileSync(pidfile, `${svcV2.pid}\n`);
  await killAndWait(svcV1);
  await waitFor(() => statusA.some((s) => s.serverId === 'svc' && s.status === 'restarted') && statusB.some((s) => s.serverId === 'svc' && s.status === 'restarted'), {
    timeoutMs: 10_000,
    message: 'restarted on both clients',
  });
  t.match(statusA.find((s) => s.serverId === 'svc' && s.status === 'restarted'), { pid: svcV2.pid, previousPid: svcV1.pid, position: String });
  await waitFor(() => infoA.some((i) => i.serverId === 'svc' && i.processInfo.pid === svcV2.pid), { message: 'samples of the new process' });

  // A killed target: exited, everywhere.
  await killAndWait(steady);
  await waitFor(() => statusA.some((s) => s.serverId === 'steady' && s.status === 'exited') && statusB.some((s) => s.serverId === 'steady' && s.status === 'exited'), {
    timeoutMs: 10_000,
    message: 'exited on both clients',
  });
  t.equal(statusA.filter((s) => s.serverId === 'steady' && s.status === 'exited').length, 1, 'exited is announced once');
  t.equal(((await (await apiGet(`${b.url}/api/servers/steady`)).json()) as { status: string }).status, 'exited');

  // The collector dies without a word: its servers turn stale.
  await collector.stop('SIGKILL');
  await waitFor(() => statusA.some((s) => s.serverId === 'svc' && s.status === 'stale') && statusB.some((s) => s.serverId === 'svc' && s.status === 'stale'), {
    timeoutMs: 10_000,
    message: 'stale on both clients',
  });
  t.equal(((await (await apiGet(`${a.url}/api/servers/svc`)).json()) as { status: string }).status, 'stale');
  t.equal(((await (await apiGet(`${a.url}/api/servers/steady`)).json()) as { status: string }).status, 'exited', 'an exited server stays exited, not stale');
  t.equal(a.exited(), null, 'gateway A is still running');
  t.equal(b.exited(), null, 'gateway B is still running');
});
