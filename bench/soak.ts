// Soak benchmark (`npm run soak`): does anything grow? `npm start`'s topology (three gateways behind
// nginx, two collectors) on a Redis of its own, clients arriving and leaving at a steady rate
// (bench/soak-clients.ts), a gateway restarted every 2 minutes (SIGTERM drain, started again) and
// Redis restarted once; every few seconds the RSS, heap, open handles and fds of every process and
// Redis's used_memory. After warm-up, a least-squares slope per process lifetime; exit 1 if any
// projects past its limit (bench/lib/trend.ts). Then memory per idle and per subscribed connection
// on one gateway (bench/lib/conn-memory.ts). Writes bench/results/soak.json, bench/SOAK-memory.svg
// and bench/SOAK.md. Flags: --minutes N (default 10), --quick (2.5 minutes, connections at 1,000
// only), --only=soak|conns, --conns=1000,10000, --render-only.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loopbackAddresses } from '../scripts/lib/lb.mjs';
import { httpGet } from '../scripts/lib/wait.mjs';
import { killAll, spawnTs, type Child, type Message } from './lib/children.js';
import { measureConnMemory } from './lib/conn-memory.js';
import { describeMachine } from './lib/machine.js';
import { promValue } from './lib/prom.js';
import { fdCount, launchOf, rssBytes, treeStats } from './lib/proc-stats.js';
import { startSoakCluster, type SoakCluster } from './lib/soak-cluster.js';
import { LIMITS, renderSoakMd, renderSoakSvg, type SoakResults } from './lib/soak-report.js';
import { judge, type Limit, type Metric, type Sample, type Verdict } from './lib/trend.js';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    conns: { type: 'string' },
    'render-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const minutes = Number(flags.minutes ?? (flags.quick ? 2.5 : 10));
if (!(minutes >= 1 && minutes <= 240)) throw new Error(`--minutes must be within 1..240, got "${flags.minutes}"`);
if (flags.only !== undefined && flags.only !== 'soak' && flags.only !== 'conns') throw new Error('--only must be soak or conns');
const conns = (flags.conns ?? (flags.quick ? '1000' : '1000,10000')).split(',').map(Number);
if (conns.some((n) => !Number.isInteger(n) || n < 1 || n > 20_000)) throw new Error('--conns: whole numbers in 1..20000');

const DURATION_S = minutes * 60;
const SAMPLE_S = 5;
const RESTART_EVERY_S = minutes < 4 ? 45 : 120;
/**
 * How a run of `m` minutes is judged. Past a restart, clients move back over a client lifetime (up
 * to 60 s): settle that long. Shorter segments than 2 minutes are not judged: a slope over less is
 * mostly the recovery from the last disturbance.
 */
const judging = (m: number) => ({ warmupS: Math.min(90, m * 60 * 0.2), settleS: m < 4 ? 20 : 60, minSpanS: m < 4 ? 30 : 120, minSamples: 8 });
const { warmupS: WARMUP_S, settleS: SETTLE_S, minSpanS: MIN_SPAN_S } = judging(minutes);
const POPULATION = 40;
const LIFETIME_MS: [number, number] = [20_000, 60_000];
const INTERVAL_MS = 1000;

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const OUT = root('bench/results/soak.json');
const SVG = root('bench/SOAK-memory.svg');
const MD = root('bench/SOAK.md');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (l: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${l}`);
const command = `npm run soak${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

function previous(): Partial<SoakResults> {
  try {
    return JSON.parse(readFileSync(OUT, 'utf8')) as SoakResults;
  } catch {
    return {};
  }
}

function writeAll(r: SoakResults): void {
  writeFileSync(OUT, JSON.stringify(r, null, 1) + '\n');
  if (r.soak) writeFileSync(SVG, renderSoakSvg(r.soak));
  writeFileSync(MD, renderSoakMd(r));
}

/** The run's token: npm start's admin token from its ready file. */
function tokenOf(info: { token?: string }): string {
  if (!info.token) throw new Error('the ready file of scripts/run-local.mjs carries no token');
  return info.token;
}

/** The load generator is sampled too (not judged): its sockets explain nginx's. */
const LOAD_ID = 'load clients';

const GC_PRELOAD = root('bench/lib/gc-on-signal.mjs');
const gcEnv = () => ({ NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${GC_PRELOAD}`.trim() });
const canGc = new Map<number, boolean>();
/** SIGUSR2 only to a process that handles it (its default action would end the process). */
function collectGarbage(pid: number): void {
  if (!canGc.has(pid)) {
    let ok = false;
    try {
      ok = (launchOf(pid).env.NODE_OPTIONS ?? '').includes(GC_PRELOAD);
    } catch {
      /* gone */
    }
    canGc.set(pid, ok);
  }
  if (canGc.get(pid)) process.kill(pid, 'SIGUSR2');
}

async function sampleAll(cluster: SoakCluster, t: number, loadPid: number | null): Promise<Sample[]> {
  const out: Sample[] = [];
  const { info, redis } = cluster;
  for (const pid of [...info.gateways.map((g) => cluster.gatewayPid(g.id)), ...info.collectors.map((c) => c.pid)]) {
    try {
      collectGarbage(pid);
    } catch {
      /* down for a restart */
    }
  }
  await sleep(500);
  await Promise.all(
    info.gateways.map(async (g) => {
      const pid = cluster.gatewayPid(g.id);
      const s: Sample = { t, id: g.id, pid, rss: rssBytes(pid), fds: fdCount(pid) };
      const m = await httpGet(g.metricsUrl ?? `${g.url}/metrics`, 3000).catch(() => null);
      if (m?.status === 200) {
        const text = String(m.body);
        s.heap = promValue(text, 'nodejs_heap_size_used_bytes');
        s.handles = promValue(text, 'nodejs_active_handles_total');
        s.connections = promValue(text, 'vigil_gateway_connections');
        // Sockets and handles that clients explain come and go with them: what is left must stay flat.
        if (s.connections != null && s.fds != null) s.fdsLessConns = s.fds - s.connections;
        if (s.connections != null && s.handles != null) s.handlesLessConns = s.handles - s.connections;
      }
      out.push(s);
    }),
  );
  for (const c of info.collectors) out.push({ t, id: `collector ${c.id}`, pid: c.pid, rss: rssBytes(c.pid), fds: fdCount(c.pid) });
  out.push({ t, id: 'nginx', pid: info.lb.pid, ...treeStats(info.lb.pid) });
  if (loadPid !== null) out.push({ t, id: LOAD_ID, pid: loadPid, rss: rssBytes(loadPid), fds: fdCount(loadPid) });
  const rp = redis.pid;
  if (rp !== null) {
    const s: Sample = { t, id: 'redis', pid: rp, rss: rssBytes(rp), fds: fdCount(rp) };
    const mem = await redis.command('INFO', 'memory').catch(() => '');
    const used = /used_memory:(\d+)/.exec(mem);
    if (used) s.usedMemory = Number(used[1]);
    const keys = /^:(\d+)/.exec(await redis.command('DBSIZE').catch(() => ''));
    if (keys) s.keys = Number(keys[1]);
    out.push(s);
  }
  return out;
}

async function runSoak(): Promise<NonNullable<SoakResults['soak']>> {
  const startedAt = new Date().toISOString();
  const cluster = await startSoakCluster({ intervalMs: INTERVAL_MS, env: gcEnv(), log });
  stopCluster = () => cluster.stop();
  let clients: Child | null = null;
  const samples: Sample[] = [];
  const events: Array<{ t: number; what: string; detail: Record<string, unknown> }> = [];
  try {
    const { info } = cluster;
    log(`cluster up: nginx ${info.lb.url}, gateways ${info.gateways.map((g) => `${g.id}:${g.port}`).join(' ')}, redis ${cluster.redis.url}`);
    const token = tokenOf(info);
    clients = await spawnTs('soak-clients.ts');
    await clients.next('ready', 30_000);
    const metricServers = info.servers.filter((s) => s.how === 'self').map((s) => s.id);
    const logServers = info.servers.filter((s) => s.logs).map((s) => s.id);
    const lifetimeMean = (LIFETIME_MS[0] + LIFETIME_MS[1]) / 2000;
    clients.send({
      type: 'start',
      plan: { lb: info.lb.url, token, metricServers, logServers, addresses: loopbackAddresses(60), population: POPULATION, lifetimeMs: LIFETIME_MS, maxClients: Math.ceil((DURATION_S / lifetimeMean) * POPULATION * 2) + POPULATION },
    });
    // Gateways restarted in turn, all but the last (run-local stops once every gateway it started is
    // gone): the last one lives through the whole run, the control. Redis once, between two restarts.
    const rotation = info.gateways.slice(0, -1).map((g) => g.id);
    const restarts: Array<{ at: number; id: string }> = [];
    for (let at = RESTART_EVERY_S, k = 0; at < DURATION_S - 10; at += RESTART_EVERY_S, k++) restarts.push({ at, id: rotation[k % rotation.length]! });
    const redisAt = Math.floor(DURATION_S / 2 / RESTART_EVERY_S) * RESTART_EVERY_S + RESTART_EVERY_S / 2;
    let redisDone = false;
    let busy: Promise<void> = Promise.resolve();
    const t0 = Date.now();
    const now = () => (Date.now() - t0) / 1000;
    const ticks = Math.ceil(DURATION_S / SAMPLE_S) + 1;
    for (let k = 0; k < ticks; k++) {
      const t = now();
      samples.push(...(await sampleAll(cluster, Math.round(t * 10) / 10, clients.pid)));
      const due = restarts.find((r) => r.at <= t);
      if (due) {
        restarts.splice(restarts.indexOf(due), 1);
        busy = busy.then(async () => {
          const at = now();
          const r = await cluster.restartGateway(due.id);
          events.push({ t: Math.round(at * 10) / 10, what: `restart ${due.id}`, detail: r });
          log(`restarted ${due.id}: pid ${r.oldPid} → ${r.newPid}, drained in ${r.drainMs} ms, ready in ${r.readyMs} ms`);
        });
      }
      if (!redisDone && t >= redisAt) {
        redisDone = true;
        busy = busy.then(async () => {
          const at = now();
          const r = await cluster.restartRedis();
          events.push({ t: Math.round(at * 10) / 10, what: 'restart redis', detail: r });
          log(`restarted redis: pid ${r.oldPid} → ${r.newPid}, down ${r.downMs} ms`);
        });
      }
      if (k % 6 === 0) {
        clients.send({ type: 'report' });
        const c = await clients.next<Message & { live: number; opened: number; samples: number; logLines: number }>('report', 10_000);
        const gws = samples.filter((s) => s.t === samples.at(-1)!.t && s.id.startsWith('gw-'));
        log(`t=${Math.round(t)} s: clients live ${c.live}, opened ${c.opened}, samples ${c.samples}, log lines ${c.logLines}; gateway RSS ${gws.map((s) => ((s.rss ?? 0) / 2 ** 20).toFixed(0)).join('/')} MiB`);
      }
      const next = t0 + (k + 1) * SAMPLE_S * 1000;
      if (now() >= DURATION_S) break;
      await sleep(Math.max(0, next - Date.now()));
    }
    await busy;
    clients.send({ type: 'report' });
    const clientReport = await clients.next('report', 10_000);
    const verdicts = verdictsOf(samples, events, minutes);
    return {
      startedAt,
      finishedAt: new Date().toISOString(),
      minutes,
      auth: 'JWT (HS256): npm start makes a secret for the run; every client uses the admin token from its ready file',
      settings: { sampleS: SAMPLE_S, restartEveryS: RESTART_EVERY_S, warmupS: WARMUP_S, settleS: SETTLE_S, minSpanS: MIN_SPAN_S, population: POPULATION, lifetimeMs: LIFETIME_MS, intervalMs: INTERVAL_MS },
      topology: { gateways: info.gateways.map((g) => g.id), collectors: info.collectors.map((c) => c.id), metricServers, logServers, control: info.gateways.at(-1)!.id },
      events,
      clients: clientReport,
      samples,
      verdicts,
      grew: verdicts.filter((v) => v.grows).map((v) => `${v.id} ${v.metric}`),
    };
  } finally {
    await clients?.stop(10_000);
    await cluster.stop();
    stopCluster = null;
  }
}

/** The verdict, a function of what was recorded only (so that --render-only judges the same way again). */
function verdictsOf(samples: Sample[], events: Array<{ t: number; what: string }>, m: number): Verdict[] {
  const disturbances = events.filter((e) => e.what === 'restart redis').map((e) => e.t);
  const o = { ...judging(m), disturbances };
  const judged = samples.filter((s) => s.id !== LOAD_ID);
  // A gateway's fds are judged less its connections (fdsLessConns); other processes' as they are.
  return (Object.entries(LIMITS) as Array<[Metric, Limit]>).flatMap(([metric, limit]) =>
    judge(metric === 'fds' ? judged.filter((s) => !s.id.startsWith('gw-')) : judged, metric, limit, o),
  );
}

let stopCluster: (() => Promise<void>) | null = null;

async function main(): Promise<number> {
  const prev = previous();
  const results: SoakResults = { command, machine: describeMachine(), soak: prev.soak, connections: prev.connections };
  if (flags['render-only']) {
    const soak = prev.soak;
    if (soak) {
      soak.verdicts = verdictsOf(soak.samples, soak.events, soak.minutes);
      soak.grew = soak.verdicts.filter((v) => v.grows).map((v) => `${v.id} ${v.metric}`);
      Object.assign(soak.settings, judging(soak.minutes));
    }
    writeAll({ ...prev, command: prev.command ?? command } as SoakResults);
    return soak && soak.grew.length > 0 ? 1 : 0;
  }
  if (flags.only !== 'conns') {
    results.soak = await runSoak();
    writeAll(results);
    log(results.soak.grew.length ? `GREW: ${results.soak.grew.join(', ')}` : `nothing grew (${results.soak.verdicts.length} segments judged)`);
  }
  if (flags.only !== 'soak') {
    const startedAt = new Date().toISOString();
    const rows = await measureConnMemory({ counts: conns, clientProcs: 2, addresses: 120, log });
    results.connections = { startedAt, finishedAt: new Date().toISOString(), rows, auth: 'JWT (HS256), the benchmarks\' secret (bench/lib/auth.ts)' };
    writeAll(results);
  }
  return results.soak && flags.only !== 'conns' && results.soak.grew.length > 0 ? 1 : 0;
}

const watchdog = setTimeout(() => {
  log('time budget exceeded: killing every child');
  killAll();
  process.exit(2);
}, (DURATION_S + 20 * 60) * 1000);
watchdog.unref();
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    log(`${sig}: stopping everything this run started`);
    const hard = setTimeout(() => (killAll(), process.exit(130)), 30_000);
    void (stopCluster?.() ?? Promise.resolve()).finally(() => {
      clearTimeout(hard);
      killAll();
      process.exit(130);
    });
  });
main().then(
  (code) => {
    clearTimeout(watchdog);
    process.exit(code);
  },
  async (err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    await stopCluster?.().catch(() => undefined);
    killAll();
    process.exit(1);
  },
);
