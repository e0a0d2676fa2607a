// Benchmark 1: collector CPU per target-sample. N idle processes (/bin/sleep) are sampled for a fixed
// number of ticks in three ways, each in a fresh process: one batched pidusage call per tick (the floor),
// one call per pid (the naive reference), and the vigil collector (createCollector with pid targets, every
// tick written to a private redis-server). Run directly to print the JSON result.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startRedis } from '@vigil/testkit';
import { killAll, spawnTs, track } from './lib/children.js';
import { parseSamplingFlags } from './lib/flags.js';
import type { SamplingJob, SamplingMode, SamplingResult } from './sampling-worker.js';

export type SamplingOptions = {
  sizes: number[];
  intervalMs: number;
  warmupTicks: number;
  ticks: number;
  /** Ticks for the per-pid reference at sizes ≥ 500, where one tick takes far longer than intervalMs. */
  perPidTicksLarge: number;
  /** Every (size, mode) is measured this many times, in rounds; figures pool the rounds. */
  repeats: number;
};

export const DEFAULT_SAMPLING: SamplingOptions = { sizes: [100, 1000], intervalMs: 200, warmupTicks: 5, ticks: 50, perPidTicksLarge: 15, repeats: 4 };

/** One (size, mode), pooled over its runs: CPU and ticks summed, so µs/target-sample is total CPU ÷ total samples. */
export type SamplingRow = SamplingResult & {
  usPerTargetSample: number;
  sampleUsPerTargetSample: number;
  redisUsPerTargetSample: number | null;
  /** µs/target-sample of each run, to show the spread. */
  perRunUs: number[];
};

export type SamplingReport = {
  options: SamplingOptions;
  targetsKind: string;
  rows: SamplingRow[];
  /** vigil µs per target-sample ÷ batched µs per target-sample, per size. */
  ratios: Array<{ targets: number; vigilOverBatched: number; perPidOverBatched: number }>;
  notes: string[];
};

const SLEEP_BIN = '/bin/sleep';
/** The idle targets outlive any run, but not by long if this process is killed without cleanup. */
const SLEEP_SECONDS = 900;

export async function spawnSleepers(n: number): Promise<ChildProcess[]> {
  if (!existsSync(SLEEP_BIN)) throw new Error(`${SLEEP_BIN} not found: the idle targets need it`);
  const out: ChildProcess[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => {
      const proc = spawn(SLEEP_BIN, [String(SLEEP_SECONDS)], { stdio: 'ignore' });
      out.push(proc);
      track(proc);
      return new Promise<void>((resolve, reject) => {
        proc.once('spawn', resolve);
        proc.once('error', reject);
      });
    });
    await Promise.all(batch);
  }
  return out;
}

export async function killSleepers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGKILL');
      return exited;
    }),
  );
}

async function measure(job: SamplingJob): Promise<SamplingResult> {
  const worker = await spawnTs('sampling-worker.ts');
  try {
    await worker.next('ready', 30_000);
    worker.send({ type: 'run', job });
    const m = await worker.next<{ type: 'result'; result: SamplingResult }>('result', job.deadlineMs + 30_000);
    return m.result;
  } finally {
    await worker.stop();
  }
}

export async function runCollectorSampling(options: SamplingOptions, log: (line: string) => void = () => {}): Promise<SamplingReport> {
  const largest = Math.max(...options.sizes);
  const notes: string[] = [];
  log(`sampling: starting ${largest} idle ${SLEEP_BIN} processes`);
  const sleepers = await spawnSleepers(largest);
  const redis = await startRedis();
  const runs = new Map<string, SamplingResult[]>();
  try {
    const rpid = redis.pid;
    if (rpid === null) notes.push('redis-server pid unknown: its CPU is not reported');
    const pids = sleepers.map((p) => p.pid!);
    for (let round = 1; round <= options.repeats; round++) {
      for (const size of options.sizes) {
        for (const mode of MODES) {
          const ticks = mode === 'per-pid' && size >= 500 ? Math.min(options.ticks, options.perPidTicksLarge) : options.ticks;
          await redis.command('FLUSHALL');
          const job: SamplingJob = {
            mode,
            pids: pids.slice(0, size),
            intervalMs: options.intervalMs,
            warmupTicks: options.warmupTicks,
            ticks,
            redisUrl: redis.url,
            redisPid: rpid,
            deadlineMs: 90_000,
          };
          log(`sampling: round ${round}/${options.repeats}, ${mode} × ${size} targets, ${ticks} ticks`);
          const r = await measure(job);
          if (!r.complete) notes.push(`${mode} at ${size}: stopped at the deadline after ${r.ticks} of ${ticks} ticks`);
          if (r.missing > 0) notes.push(`${mode} at ${size}: ${r.missing} target-samples had no figure`);
          if (mode === 'vigil' && r.samplesWritten !== r.ticks * size) {
            notes.push(`vigil at ${size}: collector wrote ${r.samplesWritten} samples in ${r.ticks} ticks (expected ${r.ticks * size})`);
          }
          const key = `${size}:${mode}`;
          runs.set(key, [...(runs.get(key) ?? []), r]);
        }
      }
    }
  } finally {
    await redis.close();
    await killSleepers(sleepers);
  }
  const rows: SamplingRow[] = [];
  for (const size of options.sizes) for (const mode of MODES) rows.push(pool(runs.get(`${size}:${mode}`) ?? []));
  const ratios = options.sizes.map((targets) => {
    const of = (mode: SamplingMode) => rows.find((r) => r.targets === targets && r.mode === mode)!.usPerTargetSample;
    return { targets, vigilOverBatched: round(of('vigil') / of('batched')), perPidOverBatched: round(of('per-pid') / of('batched')) };
  });
  return { options, targetsKind: `${SLEEP_BIN} ${SLEEP_SECONDS}`, rows, ratios, notes };
}

const MODES: SamplingMode[] = ['batched', 'per-pid', 'vigil'];

function pool(results: SamplingResult[]): SamplingRow {
  const first = results[0]!;
  const total = (pick: (r: SamplingResult) => number) => results.reduce((t, r) => t + pick(r), 0);
  const ticks = total((r) => r.ticks);
  const n = Math.max(1, ticks * first.targets);
  const redisKnown = results.every((r) => r.redisCpuMs !== null);
  const redisCpuMs = redisKnown ? total((r) => r.redisCpuMs!) : null;
  const others = results.map((r) => r.otherCores).filter((c): c is number => c !== null);
  const pooled: SamplingResult = {
    mode: first.mode,
    targets: first.targets,
    ticks,
    cpuUs: total((r) => r.cpuUs),
    wallMs: total((r) => r.wallMs),
    sampleCpuUs: total((r) => r.sampleCpuUs),
    tickBusyMs: first.tickBusyMs === null || ticks === 0 ? null : total((r) => (r.tickBusyMs ?? 0) * r.ticks) / ticks,
    redisCpuMs,
    otherCores: others.length === 0 ? null : round(others.reduce((a, b) => a + b, 0) / others.length),
    missing: total((r) => r.missing),
    samplesWritten: first.samplesWritten === null ? null : total((r) => r.samplesWritten ?? 0),
    complete: results.every((r) => r.complete),
  };
  return {
    ...pooled,
    usPerTargetSample: round(pooled.cpuUs / n),
    sampleUsPerTargetSample: round(pooled.sampleCpuUs / n),
    redisUsPerTargetSample: redisCpuMs === null ? null : round((redisCpuMs * 1000) / n),
    perRunUs: results.map((r) => round(r.cpuUs / Math.max(1, r.ticks * r.targets))),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  try {
    const report = await runCollectorSampling(parseSamplingFlags(process.argv.slice(2), DEFAULT_SAMPLING), (l) => console.error(l));
    console.log(JSON.stringify(report, null, 2));
  } finally {
    killAll();
  }
}
