// Benchmark: a three-gateway cluster on one machine. Three vigil gateways (gateway-proc.ts) on one private
// redis-server, a publisher (publisher-proc.ts, BatchWriter: the collector's publish path) and clients in
// two processes (cluster-clients.ts).
// 1. Capacity: clients (each subscribed to 1 of 100 servers' metrics) are added in steps, round-robin over
//    the three gateways directly; at each step the publisher sends one sample per server every 5 s for 3
//    ticks and every client's receipts are checked.
// 2. Failover: 1000 clients connected through a TCP balancer to ONE gateway; the gateway is SIGKILLed and
//    the balancer sends reconnections to the other two; per client, the time from the kill to the first
//    sample published after it. Once with clients that re-subscribe on every connect, once with clients
//    that subscribe only once (rooms come back from the gateway's session restore).
// Writes bench/results/cluster.json. Run: node --import tsx --conditions=vigil:source bench/cluster.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedis, startTcpBalancer, type TcpBalancer } from '@vigil/testkit';
import { killAll, monoNow, spawnTs, type Child, type Message } from './lib/children.js';
import { cpuDelta, machineBusyMs, otherCores, snapshotCpu } from './lib/cpu.js';
import { summarize, type SparseHistogram } from './lib/histogram.js';
import { describeMachine } from './lib/machine.js';
import { benchServerId } from './lib/payload.js';
import { rssBytes } from './lib/proc-stats.js';

const SERVERS = 100;
const CLIENT_PROCS = 2;
const STEPS = (process.env.VIGIL_CLUSTER_STEPS ?? '1000,2000,4000,6000,8000,10000,12000').split(',').map(Number);
const TICK_MS = 5000;
const TICKS_PER_STEP = 3;
const P99_LIMIT_MS = 1000;
const FAILOVER_CLIENTS = Number(process.env.VIGIL_CLUSTER_FAILOVER_CLIENTS ?? 1000);
const FAILOVER_WAIT_MS = 15_000;
const DEADLINE_MS = Number(process.env.VIGIL_CLUSTER_DEADLINE_MS ?? 18 * 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (l: string) => console.error(`[cluster ${new Date().toISOString().slice(11, 19)}] ${l}`);
const out = fileURLToPath(new URL('./results/cluster.json', import.meta.url));

function rssMiB(pid: number): number | null {
  const bytes = rssBytes(pid);
  return bytes === null ? null : Math.round(bytes / 104857.6) / 10;
}

function pct(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
}

async function startGateway(redisUrl: string): Promise<{ child: Child; port: number }> {
  const child = await spawnTs('gateway-proc.ts');
  await child.next('ready', 30_000);
  child.send({ type: 'start', redisUrl });
  const port = Number((await child.next<Message & { port: number }>('listening', 30_000)).port);
  return { child, port };
}

type Connected = { subscribed: number; failed: number; firstError: string | null; ms: number };
type Report = { counts: number[]; histogram: SparseHistogram; connectedNow: number; disconnects: number };
type RunResult = { ticks: number; samplesInWindow: number[]; maxLagMs: number; failures: number; lastError: string | null };

const result: Record<string, unknown> = {
  command: 'node --import tsx --conditions=vigil:source bench/cluster.ts',
  machine: describeMachine(),
  startedAt: new Date().toISOString(),
  openFiles: 'soft/hard RLIMIT_NOFILE of this shell was 20000/20000, inherited by every child; not raised (at most 6000 client sockets per client process, 4000 per gateway)',
};
const save = () => writeFileSync(out, JSON.stringify(result, null, 2) + '\n');

async function main(): Promise<void> {
  const redis = await startRedis();
  // Redis is not restarted here: its pid stays valid. The testkit kills it if this process exits early.
  const redisPid = redis.pid;
  const gateways: Array<{ child: Child; port: number }> = [];
  const extra: Child[] = [];
  let balancer: TcpBalancer | null = null;
  try {
    for (let g = 0; g < 3; g++) gateways.push(await startGateway(redis.url));
    log(`gateways on ports ${gateways.map((g) => g.port).join(', ')}, redis ${redis.url}`);
    const publisher = await spawnTs('publisher-proc.ts');
    extra.push(publisher);
    await publisher.next('ready', 30_000);
    publisher.send({ type: 'start', kind: 'vigil', redisUrl: redis.url, servers: SERVERS, collectors: 1 });
    await publisher.next('started', 30_000);

    // ---------------- 1. capacity ----------------
    const clients: Child[] = [];
    for (let p = 0; p < CLIENT_PROCS; p++) {
      const c = await spawnTs('cluster-clients.ts');
      extra.push(c);
      clients.push(c);
      await c.next('ready', 30_000);
    }
    // Global client i: gateway i mod 3, client process i mod 2, server i mod 100.
    const serverOf: number[][] = clients.map(() => []);
    const steps: Array<Record<string, unknown>> = [];
    result.capacity = { servers: SERVERS, tickMs: TICK_MS, ticksPerStep: TICKS_PER_STEP, p99LimitMs: P99_LIMIT_MS, clientProcs: CLIENT_PROCS, gateways: 3, steps };
    let total = 0;
    let connectedTotal = 0;
    let best: number | null = null;
    for (const target of STEPS) {
      const lists = clients.map(() => [] as Array<{ url: string; serverId: string }>);
      for (let i = total; i < target; i++) {
        const p = i % CLIENT_PROCS;
        lists[p]!.push({ url: `http://127.0.0.1:${gateways[i % 3]!.port}`, serverId: benchServerId(i % SERVERS) });
        serverOf[p]!.push(i % SERVERS);
      }
      total = target;
      log(`capacity: adding ${lists.reduce((a, l) => a + l.length, 0)} clients (→ ${target})`);
      const t0 = monoNow();
      clients.forEach((c, p) => c.send({ type: 'connect', clients: lists[p], mode: 'once' }));
      const conn = await Promise.all(clients.map((c) => c.next<Message & Connected>('connected', 300_000)));
      const connectMs = Math.round(monoNow() - t0);
      const added = conn.reduce((a, c) => a + c.subscribed, 0);
      connectedTotal += added;
      const failed = conn.reduce((a, c) => a + c.failed, 0);
      await sleep(1000);

      const measureStep = async (attempt: number) => {
      const pids: Record<string, number> = { redis: redisPid ?? -1, publisher: publisher.pid, parent: process.pid };
      gateways.forEach((g, k) => (pids[`gw${k}`] = g.child.pid));
      clients.forEach((c, k) => (pids[`clients${k}`] = c.pid));
      const cpu0 = snapshotCpu(pids);
      const busy0 = machineBusyMs();
      const from = monoNow();
      const until = from + (TICKS_PER_STEP - 1) * TICK_MS + 500;
      for (const c of clients) c.send({ type: 'measure', from, to: until });
      publisher.send({ type: 'run', run: { ratePerSec: 1000 / TICK_MS, from, to: until, until } });
      const ran = (await publisher.next<Message & { result: RunResult }>('ran', 60_000)).result;
      await sleep(2000);
      const period = monoNow() - from;
      const cpu1 = snapshotCpu(pids);
      const busy1 = machineBusyMs();
      const reports = await Promise.all(clients.map((c) => (c.send({ type: 'report' }), c.next<Message & Report>('report', 60_000))));
      const d = cpuDelta(cpu0, cpu1);
      const gwCpuMs = gateways.map((_, k) => d[`gw${k}`] ?? 0);
      const clientCpuMs = clients.map((_, k) => d[`clients${k}`] ?? 0);
      const ownMs = Object.values(d).reduce<number>((a, v) => a + (v ?? 0), 0);
      let expected = 0;
      let receivedAll = 0;
      let missing = 0;
      reports.forEach((r, p) =>
        r.counts.forEach((n, j) => {
          const want = ran.samplesInWindow[serverOf[p]![j]!]!;
          expected += want;
          if (n >= want) receivedAll++;
          else missing += want - n;
        }),
      );
      const lat = summarize(reports.map((r) => r.histogram));
      const step = {
        target,
        attempt,
        connected: reports.reduce((a, r) => a + r.connectedNow, 0),
        subscribed: connectedTotal,
        connectFailed: failed,
        connectError: conn.find((c) => c.firstError)?.firstError ?? null,
        stepConnectMs: connectMs,
        ticks: ran.ticks,
        publishFailures: ran.failures,
        expectedDeliveries: expected,
        deliveries: lat.count,
        clientsWithEverySample: receivedAll,
        missingDeliveries: missing,
        allReceived: receivedAll === target && failed === 0,
        latencyMs: lat,
        gatewayRssMiB: gateways.map((g) => rssMiB(g.child.pid)),
        gatewayCpuCores: gwCpuMs.map((ms) => Math.round((ms / period) * 1000) / 1000),
        redisCpuCores: d.redis == null ? null : Math.round((d.redis / period) * 1000) / 1000,
        clientProcCpuCores: clientCpuMs.map((ms) => Math.round((ms / period) * 1000) / 1000),
        publisherCpuCores: d.publisher == null ? null : Math.round((d.publisher / period) * 1000) / 1000,
        redisRssMiB: redisPid ? rssMiB(redisPid) : null,
        clientProcRssMiB: clients.map((c) => rssMiB(c.pid)),
        otherCoresOutsideBench: otherCores(busy0 === null || busy1 === null ? null : busy1 - busy0, ownMs, period),
        periodMs: Math.round(period),
      };
      return { step, lat, receivedAll };
      };
      let { step, lat, receivedAll } = await measureStep(1);
      if (step.allReceived && step.connected === target && !(lat.p99 !== null && lat.p99 < P99_LIMIT_MS)) {
        log(`capacity ${target}: p99 ${lat.p99} ms over the limit with every sample received; measuring once more`);
        steps.push(step);
        ({ step, lat, receivedAll } = await measureStep(2));
      }
      steps.push(step);
      save();
      log(`capacity ${target}: connected ${step.connected}, all received ${step.allReceived} (${receivedAll}/${target}), p50 ${lat.p50} p99 ${lat.p99} ms, connect ${connectMs} ms, rss ${step.gatewayRssMiB.join('/')} MiB, cpu ${step.gatewayCpuCores.join('/')}`);
      const ok = step.allReceived && step.connected === target && lat.p99 !== null && lat.p99 < P99_LIMIT_MS;
      if (!ok) break;
      best = target;
      if (monoNow() > DEADLINE_START + DEADLINE_MS * 0.5) {
        log('capacity: half the time budget used, stopping the ramp');
        (result.capacity as Record<string, unknown>).stoppedBy = 'time budget';
        break;
      }
    }
    (result.capacity as Record<string, unknown>).largestPassingStep = best;
    for (const c of clients) await c.stop(5000);
    save();

    // ---------------- 2. failover ----------------
    const failover: Array<Record<string, unknown>> = [];
    result.failover = { clients: FAILOVER_CLIENTS, publishRatePerSec: 1, servers: SERVERS, runs: failover };
    balancer = await startTcpBalancer([]);
    const survivors = [gateways[1]!.port, gateways[2]!.port];
    for (const mode of ['resubscribe', 'seed', 'resubscribe', 'seed'] as const) {
      // The victim: a fresh gateway every run (gateways 1 and 2 are the survivors).
      const victim = await startGateway(redis.url);
      extra.push(victim.child);
      balancer.setBackends([victim.port]);
      const procs: Child[] = [];
      const perProc: Array<Array<{ url: string; serverId: string }>> = [[], []];
      for (let i = 0; i < FAILOVER_CLIENTS; i++) perProc[i % 2]!.push({ url: balancer.url, serverId: benchServerId(i % SERVERS) });
      for (let p = 0; p < 2; p++) {
        const c = await spawnTs('cluster-clients.ts');
        extra.push(c);
        procs.push(c);
        await c.next('ready', 30_000);
        c.send({ type: 'connect', clients: perProc[p], mode });
      }
      const conn = await Promise.all(procs.map((c) => c.next<Message & Connected>('connected', 120_000)));
      const subscribed = conn.reduce((a, c) => a + c.subscribed, 0);
      log(`failover[${mode}]: ${subscribed} clients on gateway :${victim.port} (balancer routed to it: ${balancer.connectionsTo(victim.port)})`);
      // Publisher at 1 tick/s for the whole run; first 4 s check that everyone receives before the kill.
      const start = monoNow();
      const preTo = start + 4000;
      for (const c of procs) c.send({ type: 'measure', from: start, to: preTo });
      publisher.send({ type: 'run', run: { ratePerSec: 1, from: start, to: preTo, until: start + 5000 + FAILOVER_WAIT_MS } });
      await sleep(5000);
      const pre = await Promise.all(procs.map((c) => (c.send({ type: 'report' }), c.next<Message & Report>('report', 30_000))));
      const receivingBefore = pre.reduce((a, r) => a + r.counts.filter((n) => n > 0).length, 0);
      const killAt = monoNow();
      for (const c of procs) c.send({ type: 'watch', killAt });
      balancer.setBackends(survivors);
      process.kill(victim.child.pid, 'SIGKILL');
      log(`failover[${mode}]: SIGKILL gateway pid ${victim.child.pid}; ${receivingBefore}/${FAILOVER_CLIENTS} were receiving`);
      let fo: Array<Message & { firstAfterKill: Array<number | null>; reconnectAfterKill: Array<number | null>; connectedNow: number; reconnects: number; disconnects: number; resubscribeFailures: number }> = [];
      for (let k = 0; k < FAILOVER_WAIT_MS / 1000; k++) {
        await sleep(1000);
        fo = await Promise.all(procs.map((c) => (c.send({ type: 'failover' }), c.next<Message & { firstAfterKill: Array<number | null>; reconnectAfterKill: Array<number | null>; connectedNow: number; reconnects: number; disconnects: number; resubscribeFailures: number }>('failover', 30_000))));
        const done = fo.reduce((a, r) => a + r.firstAfterKill.filter((x) => x !== null).length, 0);
        if (done >= FAILOVER_CLIENTS) break;
      }
      const delays = fo.flatMap((r) => r.firstAfterKill.filter((x): x is number => x !== null)).sort((a, b) => a - b);
      const run = {
        mode,
        clients: FAILOVER_CLIENTS,
        subscribedBefore: subscribed,
        receivingBeforeKill: receivingBefore,
        recovered: delays.length,
        notRecoveredWithinMs: delays.length < FAILOVER_CLIENTS ? FAILOVER_WAIT_MS : null,
        msFromKillToFirstSample: { p50: pct(delays, 0.5), p90: pct(delays, 0.9), p99: pct(delays, 0.99), max: delays.length ? Math.round(delays.at(-1)!) : null, min: delays.length ? Math.round(delays[0]!) : null },
        msFromKillToReconnect: (() => {
          const r = fo.flatMap((x) => x.reconnectAfterKill.filter((v): v is number => v !== null)).sort((a, b) => a - b);
          return { count: r.length, p50: pct(r, 0.5), p90: pct(r, 0.9), max: r.length ? Math.round(r.at(-1)!) : null, min: r.length ? Math.round(r[0]!) : null };
        })(),
        connectedAfter: fo.reduce((a, r) => a + r.connectedNow, 0),
        reconnects: fo.reduce((a, r) => a + r.reconnects, 0),
        resubscribeFailures: fo.reduce((a, r) => a + r.resubscribeFailures, 0),
        connectionsOnSurvivors: survivors.map((p) => balancer!.connectionsTo(p)),
      };
      failover.push(run);
      save();
      log(`failover[${mode}]: recovered ${delays.length}/${FAILOVER_CLIENTS}; p50 ${run.msFromKillToFirstSample.p50} p90 ${run.msFromKillToFirstSample.p90} max ${run.msFromKillToFirstSample.max} ms; reconnect p50 ${run.msFromKillToReconnect.p50} max ${run.msFromKillToReconnect.max} ms`);
      for (const c of procs) await c.stop(5000);
      await publisher.next('ran', 60_000);
    }
    result.finishedAt = new Date().toISOString();
    save();
  } finally {
    await balancer?.close();
    for (const c of extra) await c.stop(5000);
    for (const g of gateways) await g.child.stop(5000);
    await redis.close();
  }
}

const DEADLINE_START = monoNow();
const watchdog = setTimeout(() => {
  log(`time budget of ${DEADLINE_MS} ms exceeded: killing every child`);
  result.abortedAt = new Date().toISOString();
  save();
  killAll();
  process.exit(2);
}, DEADLINE_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
main()
  .then(() => {
    clearTimeout(watchdog);
    console.log(JSON.stringify(result, null, 2));
  })
  .catch((err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    result.error = err.message;
    save();
    killAll();
    process.exit(1);
  });
