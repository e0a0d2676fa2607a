// Where a fan-out stack's gateway CPU goes: one or more stacks of the fan-out bench (fanout-stack.ts,
// same processes, same sizes), each measured idle (clients connected and subscribed, nothing published)
// and at a few rates, with the gateways' CPU split into user and system time and their read/write
// system calls and context switches counted (/proc/<pid>/{stat,io,status}). The idle figure is the
// fixed cost that total ÷ deliveries spreads over the deliveries; the slope between two rates is the
// marginal cost of a delivery. Optional: `perf record` of the first gateway during one rate.
//   node --import tsx --conditions=vigil:source bench/fanout-probe.ts --stacks=ws,baseline --rates=10,20,30 [--idle=6000] [--perf=20|0] [--perf-stack=ws]
// (--perf=0: record while idle; the recordings go to /tmp/fanout-perf-<stack>-<rate|idle>.data)
// Prints one JSON report on stdout; progress on stderr.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { killAll, monoNow } from './lib/children.js';
import { DEFAULT_FANOUT, type Stack } from './fanout.js';
import { startStack, stopStack, type StackProcs } from './fanout-stack.js';
import { runStep, settle } from './fanout-step.js';
import { machineBusyMs } from './lib/cpu.js';

const USER_HZ = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Counters = {
  userMs: number;
  sysMs: number;
  /** On-CPU time from the scheduler (ns-exact, /proc/<pid>/task/<tid>/schedstat), all threads and the main one. */
  schedMs: number;
  mainThreadMs: number;
  syscr: number;
  syscw: number;
  voluntary: number;
  involuntary: number;
};

/** The scheduler's run time of every thread of a process, and of its main thread, in ms. */
function schedMs(pid: number): { all: number; main: number } {
  let all = 0;
  let main = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      all += ms;
      if (Number(tid) === pid) main = ms;
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return { all, main };
}

function counters(pid: number): Counters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const sched = schedMs(pid);
  return {
    schedMs: sched.all,
    mainThreadMs: sched.main,
    userMs: (Number(f[11]) * 1000) / USER_HZ,
    sysMs: (Number(f[12]) * 1000) / USER_HZ,
    syscr: field(io, 'syscr'),
    syscw: field(io, 'syscw'),
    voluntary: field(status, 'voluntary_ctxt_switches'),
    involuntary: field(status, 'nonvoluntary_ctxt_switches'),
  };
}

function sumCounters(pids: number[]): Counters {
  const total: Counters = { userMs: 0, sysMs: 0, schedMs: 0, mainThreadMs: 0, syscr: 0, syscw: 0, voluntary: 0, involuntary: 0 };
  for (const pid of pids) {
    const c = counters(pid);
    for (const k of Object.keys(total) as Array<keyof Counters>) total[k] += c[k];
  }
  return total;
}

function diff(a: Counters, b: Counters): Counters {
  const out = { ...b };
  for (const k of Object.keys(out) as Array<keyof Counters>) out[k] = b[k] - a[k];
  return out;
}

/** Gateway counters over an idle window: clients connected, nothing published. */
async function idle(p: StackProcs, ms: number): Promise<{ cores: number; perSec: Counters; otherCores: number | null }> {
  const pids = p.servers.map((s) => s.pid);
  const c0 = sumCounters(pids);
  const b0 = machineBusyMs();
  await sleep(ms);
  const d = diff(c0, sumCounters(pids));
  const b1 = machineBusyMs();
  const perSec = { ...d };
  for (const k of Object.keys(perSec) as Array<keyof Counters>) perSec[k] = Math.round((perSec[k] * 1000) / ms);
  return { cores: (d.userMs + d.sysMs) / ms, perSec, otherCores: b0 === null || b1 === null ? null : (b1 - b0 - d.userMs - d.sysMs) / ms };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stacks: { type: 'string' }, rates: { type: 'string' }, idle: { type: 'string' }, perf: { type: 'string' }, 'perf-stack': { type: 'string' } },
  });
  const stacks = (values.stacks ?? 'ws,baseline,vigil').split(',') as Stack[];
  const rates = (values.rates ?? '10,20,30').split(',').map(Number);
  const idleMs = Number(values.idle ?? 6000);
  const perfRate = values.perf ? Number(values.perf) : null;
  const perfStack = (values['perf-stack'] ?? null) as Stack | null;
  const o = { ...DEFAULT_FANOUT, stacks };
  const log = (l: string) => console.error(l);
  const running: Array<{ stack: Stack; procs: StackProcs }> = [];
  const report: Record<string, unknown> = {};
  try {
    for (const stack of stacks) running.push({ stack, procs: (await startStack(stack, o, log)).procs });
    const warm = { ...o, warmupMs: 0, windowMs: 2000 };
    for (const r of running) {
      await runStep(r.procs, warm, rates[0]!);
      await settle(r.procs);
    }
    const results: Record<string, unknown[]> = {};
    for (const r of running) {
      await sleep(1000);
      const idlePerf =
        perfRate === 0 && (perfStack === null || perfStack === r.stack)
          ? spawn('perf', ['record', '-F', '1999', '-g', '-o', `/tmp/fanout-perf-${r.stack}-idle.data`, '-p', String(r.procs.servers[0]!.pid), '--', 'sleep', String(idleMs / 1000)], { stdio: 'ignore' })
          : null;
      const i = await idle(r.procs, idleMs);
      if (idlePerf) await new Promise((res) => idlePerf.once('exit', res));
      log(`${r.stack}: idle gateways ${i.cores.toFixed(3)} cores ${JSON.stringify(i.perSec)} other ${i.otherCores?.toFixed(2)}`);
      results[r.stack] = [{ rate: 0, ...i }];
    }
    for (const rate of rates) {
      for (const r of running) {
        const pids = r.procs.servers.map((s) => s.pid);
        let perf: ReturnType<typeof spawn> | null = null;
        if (perfRate === rate && (perfStack === null || perfStack === r.stack)) {
          const secs = (o.warmupMs + o.windowMs) / 1000;
          perf = spawn('perf', ['record', '-F', '1999', '-g', '-o', `/tmp/fanout-perf-${r.stack}-${rate}.data`, '-p', String(pids[0]), '--', 'sleep', String(secs)], { stdio: 'ignore' });
        }
        // runStep opens its window warm-up + 100 ms after it is called and keeps it open windowMs:
        // the counters are read at the same edges (to a few ms).
        const t0 = monoNow();
        const stepDone = runStep(r.procs, o, rate);
        await sleep(t0 + 100 + o.warmupMs - monoNow());
        const c0 = sumCounters(pids);
        await sleep(t0 + 100 + o.warmupMs + o.windowMs - monoNow());
        const d = diff(c0, sumCounters(pids));
        const step = await stepDone;
        if (perf) await new Promise((res) => perf!.once('exit', res));
        const gwMs = step.cpuMs.gateways ?? NaN;
        const delivered = (step.deliveriesPerSec * o.windowMs) / 1000;
        const row = {
          rate,
          deliveriesPerSec: step.deliveriesPerSec,
          keptUp: step.keptUp,
          p99: step.latencyMs.p99,
          windowCores: gwMs / o.windowMs,
          usPerDelivery: step.gatewayUsPerDelivery,
          otherCores: step.otherCores,
          clientsCores: (step.cpuMs.clients ?? NaN) / o.windowMs,
          window: { ...d, userShare: Math.round((d.userMs / (d.userMs + d.sysMs)) * 100) / 100 },
          userUsPerDelivery: Math.round(((d.userMs * 1000) / delivered) * 10) / 10,
          sysUsPerDelivery: Math.round(((d.sysMs * 1000) / delivered) * 10) / 10,
          schedUsPerDelivery: Math.round(((d.schedMs * 1000) / delivered) * 10) / 10,
          mainThreadShare: Math.round((d.mainThreadMs / d.schedMs) * 100) / 100,
          writesPerDelivery: Math.round((d.syscw / delivered) * 100) / 100,
          readsPerDelivery: Math.round((d.syscr / delivered) * 100) / 100,
        };
        log(`${r.stack} @${rate}: ${JSON.stringify(row)}`);
        results[r.stack]!.push(row);
        await settle(r.procs);
      }
    }
    report.results = results;
  } finally {
    for (const r of running) await stopStack(r.procs);
  }
  console.log(JSON.stringify(report, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  try {
    await main();
  } finally {
    killAll();
  }
}
