// The collector's Prometheus endpoint as a scraper sees it: the watched processes' series agree
// with /proc, a process that exits is `up 0` with no stale CPU or memory left, the health
// endpoints say what they promise, the registry is per run (stop → start works), and nothing is
// served when no port is configured.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { loadConfig } from '../src/index.js';
import { COLLECTOR_VERSION } from '../src/metrics.js';
import { cli, collectorFor, redisFor, spawnChild } from './fixtures.js';

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text format, the lines that are samples. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(base: string): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parse(await res.text());
}

function find(samples: Sample[], name: string, server?: string): Sample | undefined {
  return samples.find((s) => s.name === name && (server === undefined || s.labels.server === server));
}

const CLK_TCK = 100;
const PAGE_SIZE = 4096;

/** What /proc says of a process: CPU seconds, RSS bytes, start time in epoch seconds. */
function procOf(pid: number): { cpuSeconds: number; rssBytes: number; startSeconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15, starttime 22 (1-based).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(f[n - 3]);
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return { cpuSeconds: (field(14) + field(15)) / CLK_TCK, rssBytes: rssPages * PAGE_SIZE, startSeconds: btime + field(22) / CLK_TCK };
}

// Burns 0.3 s of CPU (user time), then idles: CPU time and memory then stay put while we compare.
const BUSY_CPU_S = 0.3;
const WORK_THEN_IDLE = `let x = 0; while (process.cpuUsage().user < ${BUSY_CPU_S * 1e6}) x++; setInterval(() => {}, 1000)`;

t.test('/metrics: the watched process as /proc sees it; up 0 once it exits; health endpoints', async (t) => {
  const { redis } = await redisFor(t);
  const child = await spawnChild(t, WORK_THEN_IDLE);
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'api', pid: child.pid, intervalMs: 200 }], metricsPort: 0 });
  await collector.start();
  const address = collector.metricsAddress();
  t.ok(address, 'served');
  t.equal(address!.host, '127.0.0.1', 'on loopback by default');
  const base = `http://127.0.0.1:${address!.port}`;

  // Wait until the busy part is over and a tick has seen the settled CPU time.
  let samples = await waitFor(
    async () => {
      const s = await scrape(base);
      const cpu = find(s, 'vigil_process_cpu_seconds_total', 'api');
      const now = procOf(child.pid).cpuSeconds;
      // The series itself must have seen the busy start: /proc may pass the mark between two ticks.
      return cpu && cpu.value >= BUSY_CPU_S - 0.02 && now >= BUSY_CPU_S - 0.02 && Math.abs(cpu.value - now) < 0.011 ? s : null;
    },
    { timeoutMs: 15_000, message: 'CPU seconds of the child settled in /metrics' },
  );
  const proc = procOf(child.pid);
  const labels = { server: 'api', host: 'h', collector: 'c' };
  t.match(find(samples, 'vigil_process_up', 'api'), { labels, value: 1 }, 'up 1, labelled server, host, collector');
  const cpu = find(samples, 'vigil_process_cpu_seconds_total', 'api')!;
  t.ok(cpu.value >= BUSY_CPU_S - 0.02, `CPU seconds count the busy start (${cpu.value})`);
  t.ok(Math.abs(cpu.value - proc.cpuSeconds) <= 0.02, `CPU seconds ${cpu.value} ≈ /proc utime+stime ${proc.cpuSeconds}`);
  const rss = find(samples, 'vigil_process_resident_memory_bytes', 'api')!.value;
  t.ok(Math.abs(rss - proc.rssBytes) <= Math.max(2 * 1024 * 1024, proc.rssBytes * 0.05), `RSS ${rss} ≈ /proc statm ${proc.rssBytes}`);
  const start = find(samples, 'vigil_process_start_time_seconds', 'api')!.value;
  t.ok(Math.abs(start - proc.startSeconds) <= 0.02, `start time ${start} ≈ /proc starttime + btime ${proc.startSeconds}`);
  t.match(find(samples, 'vigil_process_restarts_total', 'api'), { value: 0 });
  t.match(find(samples, 'vigil_build_info'), { labels: { version: COLLECTOR_VERSION, node: process.version }, value: 1 }, 'build info');
  for (const name of ['vigil_collector_ticks_total', 'vigil_collector_samples_written_total', 'vigil_collector_tick_duration_seconds_count']) {
    t.ok((find(samples, name)?.value ?? 0) > 0, `${name} counts`);
  }
  for (const name of ['vigil_collector_samples_dropped_total', 'vigil_collector_log_lines_dropped_total', 'vigil_collector_log_buffer_lines', 'vigil_collector_log_buffer_bytes']) {
    t.equal(find(samples, name)?.value, 0, `${name} is 0`);
  }
  t.equal(find(samples, 'vigil_collector_redis_connected')?.value, 1, 'Redis connected');

  // CPU seconds never go down while the process lives.
  const later = await waitFor(
    async () => {
      const s = await scrape(base);
      return (find(s, 'vigil_collector_ticks_total')?.value ?? 0) > find(samples, 'vigil_collector_ticks_total')!.value + 1 ? s : null;
    },
    { message: 'two more ticks' },
  );
  t.ok(find(later, 'vigil_process_cpu_seconds_total', 'api')!.value >= cpu.value, 'CPU seconds non-decreasing');

  const healthz = await fetch(`${base}/healthz`);
  t.equal(healthz.status, 200, '/healthz 200');
  t.match(await healthz.json(), { status: 'ok', redis: 'up' });
  const readyz = await fetch(`${base}/readyz`);
  t.equal(readyz.status, 200, '/readyz 200 with Redis up');
  const nope = await fetch(`${base}/nope`);
  t.equal(nope.status, 404, 'anything else: 404');
  t.match(await nope.json(), { error: { code: ErrorCodes.NOT_FOUND, message: /no route GET \/nope/ } }, 'in vigil\'s error shape, as the gateway');
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  t.equal(post.status, 404, 'another method: no route');
  t.match(await post.json(), { error: { code: ErrorCodes.NOT_FOUND } });

  await child.kill();
  samples = await waitFor(
    async () => {
      const s = await scrape(base);
      return find(s, 'vigil_process_up', 'api')?.value === 0 ? s : null;
    },
    { timeoutMs: 10_000, message: 'up 0 after the exit' },
  );
  t.equal(find(samples, 'vigil_process_resident_memory_bytes', 'api'), undefined, 'no RSS left for a process that is gone');
  t.equal(find(samples, 'vigil_process_cpu_seconds_total', 'api'), undefined, 'no CPU seconds left either');

  // Redis away: still alive (ticks go on), not ready.
  await redis.stop();
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, { timeoutMs: 10_000, message: '/readyz 503 without Redis' });
  t.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz still 200: the tick loop lives');
  t.match(await (await fetch(`${base}/readyz`)).json(), { redis: 'down' });
  await redis.start();
});

t.test('stop closes the port; start serves again with a fresh registry; twice', async (t) => {
  const { redis } = await redisFor(t);
  const child = await spawnChild(t);
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'api', pid: child.pid, intervalMs: 200 }], metricsPort: 0 });
  for (const round of [1, 2]) {
    await collector.start();
    const base = `http://127.0.0.1:${collector.metricsAddress()!.port}`;
    const samples = await waitFor(
      async () => {
        const s = await scrape(base);
        return find(s, 'vigil_process_up', 'api')?.value === 1 ? s : null;
      },
      { message: `round ${round}: up 1` },
    );
    t.equal(samples.filter((s) => s.name === 'vigil_build_info').length, 1, `round ${round}: one build_info series`);
    await collector.stop();
    t.equal(collector.metricsAddress(), null, `round ${round}: no address once stopped`);
    await t.rejects(fetch(`${base}/metrics`), `round ${round}: the port is closed`);
  }
});

t.test('no metrics port: nothing is served', async (t) => {
  const { redis } = await redisFor(t);
  const child = await spawnChild(t);
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'api', pid: child.pid, intervalMs: 200 }] });
  await collector.start();
  t.equal(collector.metricsAddress(), null, 'createCollector without metricsPort');
  const env = { VIGIL_REDIS_URL: redis.url };
  t.equal(loadConfig({ argv: ['--pid', `a=${child.pid}`], env }).metricsPort, undefined, 'the CLI config: off by default');
  t.match(loadConfig({ argv: ['--pid', `a=${child.pid}`], env: { ...env, VIGIL_METRICS_PORT: '9100' } }), { metricsPort: 9100, metricsHost: '127.0.0.1' });
  t.match(loadConfig({ argv: ['--pid', `a=${child.pid}`], env: { ...env, KUBERNETES_SERVICE_HOST: '10.0.0.1' } }), { metricsPort: 9464, metricsHost: '0.0.0.0' }, 'on in Kubernetes, on the pod IP');
  t.equal(loadConfig({ argv: ['--pid', `a=${child.pid}`, '--metrics-port', 'off'], env: { ...env, KUBERNETES_SERVICE_HOST: '10.0.0.1' } }).metricsPort, undefined, '--metrics-port off');
  t.throws(() => loadConfig({ argv: ['--pid', `a=${child.pid}`, '--metrics-port', '70000'], env }), /metricsPort \(--metrics-port\): expected a port/);
});

t.test('the CLI: --metrics-port serves /healthz and the build info; a port in use is one fatal line', async (t) => {
  const { redis } = await redisFor(t);
  const child = await spawnChild(t);
  const run = cli(t, ['--redis-url', redis.url, '--pid', `api=${child.pid}`, '--interval', '200', '--metrics-port', '0'], { VIGIL_LOG_LEVEL: 'info' });
  const url = await waitFor(() => /"metrics":"(http:\/\/[^"]+)\/metrics"/.exec(run.output())?.[1], { timeoutMs: 30_000, message: 'the metrics address in the log' });
  t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz 200');
  t.match(await (await fetch(`${url}/metrics`)).text(), new RegExp(`^vigil_build_info\\{version="${COLLECTOR_VERSION}",node="${process.version}"`, 'm'));
  t.match(run.output(), new RegExp(`"pid":${run.proc.pid},"host":"`), 'log lines carry pid and host');

  const port = new URL(url).port;
  const second = cli(t, ['--redis-url', redis.url, '--pid', `api=${child.pid}`, '--metrics-port', port]);
  t.equal(await second.exited, 1, 'exit 1');
  t.match(second.output(), /VIGIL_ERR_CONFIG_INVALID.*metricsPort: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  t.notMatch(second.output(), /\n\s+at /, 'no stack');
});
