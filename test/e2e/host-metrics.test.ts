// Host metrics end to end, all real: a collector process samples this machine every 250 ms and a
// gateway process delivers the samples to clients; the figures are checked against /proc and
// os.cpus(), REST lists and pages them behind the bearer token, and a token whose `hosts` do not
// cover the host is refused.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, ServerEvents, comparePositions, type HostView, type SystemMetricsEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, apiGet, client, collect, e2eToken, emitAck, spawnService, startGatewayProcess } from './helpers.js';

const HOST = 'vigil-e2e-host';

const proc = (file: string) => readFileSync(`/proc/${file}`, 'utf8');

t.test('collector → Redis → gateway → client: host samples of this machine, latest at once and every interval', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-host-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'collector.json');
  writeFileSync(config, JSON.stringify({ hostMetrics: { intervalMs: 250, mounts: ['/'] } }));

  const gateway = await startGatewayProcess(t, redis.url);
  const collector = spawnService(t, COLLECTOR_ENTRY, ['--redis-url', redis.url, '--collector-id', 'e2e-agent', '--host', HOST, '--config', config, '--self', 'e2e-self'], {});
  const opsToken = await e2eToken({ sub: 'ops', vigil: { servers: ['*'], hosts: ['vigil-e2e-*'] } });
  await waitFor(
    async () => {
      if (collector.exited()) throw new Error(`collector exited: ${collector.output()}`);
      const body = (await (await apiGet(`${gateway.url}/api/hosts`, opsToken)).json()) as { hosts: HostView[] };
      return body.hosts.some((h) => h.host === HOST && h.latest !== null);
    },
    { timeoutMs: 30_000, message: 'the host registered with a latest sample' },
  );

  const c = await client(t, gateway.url, opsToken);
  const got = collect<SystemMetricsEvent>(c, ServerEvents.systemMetricsUpdate);
  const ack = await emitAck(c, 'subscribe-system-metrics', { host: HOST });
  t.match(ack, { ok: true, room: `system-metrics-${HOST}`, host: HOST, latest: true });
  t.ok(got.length >= 1, 'the latest host sample came with the subscription, before its ack');

  await waitFor(() => got.length >= 6, { timeoutMs: 20_000, message: 'five more samples, one per interval' });
  const positions = got.map((e) => e.position);
  t.ok(positions.every((p, i) => i === 0 || comparePositions(p, positions[i - 1]!) > 0), 'in order, none twice');
  const spacing = got.slice(1).map((e, i) => Date.parse(e.data.timestamp) - Date.parse(got[i]!.data.timestamp));
  t.ok(spacing.every((ms) => ms >= 150), `sampled about every 250 ms, never in bursts (${spacing.join(', ')} ms)`);

  // Plausible values: the figures of this machine.
  const last = got.at(-1)!.data;
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(proc('meminfo'))![1]);
  t.equal(last.memory.total, memTotalKb * 1024, 'memory total is MemTotal');
  t.ok(last.memory.used > 0 && last.memory.used + last.memory.available === last.memory.total, 'used + available = total');
  t.equal(last.cpu.count, cpus().length, 'as many cores as os.cpus()');
  t.equal(last.cpu.cores.length, cpus().length);
  t.ok(last.cpu.total >= 0 && last.cpu.total <= 100 && last.cpu.cores.every((p) => p >= 0 && p <= 100), 'percentages');
  const uptime = Number(proc('uptime').split(' ')[0]);
  t.ok(Math.abs(last.uptime - uptime) < 10, `uptime ${last.uptime} s is close to /proc/uptime ${uptime} s`);
  const loadavg = proc('loadavg').split(' ').map(Number);
  t.ok(Math.abs(last.load.fifteen - loadavg[2]!) < 0.5, `15-minute load ${last.load.fifteen} is close to /proc/loadavg ${loadavg[2]}`);
  t.ok(last.network.interfaces.every((i) => i.name !== 'lo'), 'loopback left out');
  t.equal(last.mounts[0]?.path, '/');
  t.ok(last.mounts[0]!.total > 0, 'the root file system has a size');

  // REST: the list, the host and its history, page by page.
  const hosts = ((await (await apiGet(`${gateway.url}/api/hosts`, opsToken)).json()) as { hosts: HostView[] }).hosts;
  const view = hosts.find((h) => h.host === HOST)!;
  t.same(view.collectors.map((x) => x.collectorId), ['e2e-agent']);
  t.equal(view.latest?.cores, cpus().length);
  const one = (await (await apiGet(`${gateway.url}/api/hosts/${HOST}`, opsToken)).json()) as HostView & { sample: SystemMetricsEvent };
  t.equal(one.sample.host, HOST);
  const page1 = (await (await apiGet(`${gateway.url}/api/hosts/${HOST}/metrics?limit=2`, opsToken)).json()) as { items: SystemMetricsEvent[]; next: string };
  t.equal(page1.items.length, 2);
  const page2 = (await (await apiGet(`${gateway.url}/api/hosts/${HOST}/metrics?limit=2&before=${page1.next}`, opsToken)).json()) as { items: SystemMetricsEvent[] };
  t.ok(comparePositions(page2.items.at(-1)!.position, page1.items[0]!.position) < 0, 'the next page is older');
  const stored = (await (await apiGet(`${gateway.url}/api/hosts/${HOST}/metrics?limit=1000&after=${positions[0]}`, opsToken)).json()) as { items: SystemMetricsEvent[] };
  const live = positions.slice(1);
  t.same(stored.items.map((i) => i.position).slice(0, live.length), live, 'every sample delivered live is in the history, under its position');

  // The bearer is required, and a token without the host sees nothing of it.
  t.equal((await fetch(`${gateway.url}/api/hosts`)).status, 401);
  t.equal((await apiGet(`${gateway.url}/api/hosts/${HOST}`)).status, 404, 'a token without hosts: as if the host did not exist');
  const plain = await client(t, gateway.url);
  t.match(await emitAck(plain, 'subscribe-system-metrics', { host: HOST }), { ok: false, error: { code: ErrorCodes.FORBIDDEN } });
});
