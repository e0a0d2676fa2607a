// Benchmark 3: what one fast viewer costs the collector's other targets. N idle processes
// (/bin/sleep) are pid targets of the real collector, configured at `configuredMs`; each run is a
// fresh process (interval-worker.ts) measuring its own CPU over a window:
//   (a) all N, nobody asks: the baseline, CPU per target-sample;
//   (b) all N, the first one wanted at `fastMs` (recorded in Redis as a gateway does);
//   (c) that one target alone at `fastMs`: what the fast target costs by itself.
// The others' CPU per target-sample under (b) is (CPU(b) − CPU(c)) ÷ the others' samples; it should
// equal (a)'s, and the others' sample rate should be the same in (a) and (b).
// Run directly to print the JSON result.
import { pathToFileURL } from 'node:url';
import { startRedis } from '@vigil/testkit';
import { killSleepers, spawnSleepers } from './collector-sampling.js';
import { killAll, spawnTs } from './lib/children.js';
import { parseIntervalFlags } from './lib/flags.js';
import type { Section } from './lib/report.js';
import type { IntervalJob, IntervalResult } from './interval-worker.js';

export type IntervalOptions = {
  targets: number;
  configuredMs: number;
  fastMs: number;
  warmupMs: number;
  windowMs: number;
  repeats: number;
};

export const DEFAULT_INTERVAL: IntervalOptions = { targets: 200, configuredMs: 1000, fastMs: 100, warmupMs: 3000, windowMs: 20_000, repeats: 2 };

type Mode = 'none' | 'one-fast' | 'fast-alone';
const MODES: Mode[] = ['none', 'one-fast', 'fast-alone'];

export type IntervalRow = {
  mode: Mode;
  runs: number;
  targets: number;
  cpuMs: number;
  wallMs: number;
  fastSamples: number;
  otherSamples: number;
  ticks: number;
  /** Samples per second of the fast target, and of each other target on average. */
  fastPerSec: number;
  otherPerTargetPerSec: number;
  redisCpuMs: number | null;
  otherCores: number | null;
};

export type IntervalReport = {
  options: IntervalOptions;
  rows: IntervalRow[];
  /** µs per sample of the other targets: (a) with nobody asking, (b) with one target fast, net of (c). */
  baselineUsPerSample: number;
  othersUsPerSample: number;
  /** othersUsPerSample ÷ baselineUsPerSample: 1 means a fast viewer costs the others nothing. */
  ratio: number;
  /** Per-target rate of the others with one target fast ÷ without: 1 means they are not sampled faster. */
  otherRateRatio: number;
  notes: string[];
};

async function measure(job: IntervalJob): Promise<IntervalResult> {
  const worker = await spawnTs('interval-worker.ts');
  try {
    // Starting a worker compiles the collector's sources (tsx): slow on a busy machine.
    await worker.next('ready', 120_000);
    worker.send({ type: 'run', job });
    const m = await worker.next<{ type: 'result'; result: IntervalResult }>('result', job.warmupMs + job.windowMs + 60_000);
    return m.result;
  } finally {
    await worker.stop();
  }
}

export async function runCollectorInterval(options: IntervalOptions, log: (line: string) => void = () => {}): Promise<IntervalReport> {
  const notes: string[] = [];
  log(`interval: starting ${options.targets} idle processes`);
  const sleepers = await spawnSleepers(options.targets);
  const redis = await startRedis();
  const runs = new Map<Mode, IntervalResult[]>();
  try {
    const pids = sleepers.map((p) => p.pid!);
    for (let round = 1; round <= options.repeats; round++) {
      for (const mode of MODES) {
        await redis.command('FLUSHALL');
        log(`interval: round ${round}/${options.repeats}, ${mode}`);
        const r = await measure({
          pids: mode === 'fast-alone' ? pids.slice(0, 1) : pids,
          configuredMs: options.configuredMs,
          fastMs: mode === 'none' ? null : options.fastMs,
          warmupMs: options.warmupMs,
          windowMs: options.windowMs,
          redisUrl: redis.url,
          redisPid: redis.pid,
        });
        runs.set(mode, [...(runs.get(mode) ?? []), r]);
      }
    }
  } finally {
    await redis.close();
    await killSleepers(sleepers);
  }
  const rows = MODES.map((mode) => pool(mode, runs.get(mode) ?? []));
  const [none, oneFast, alone] = rows as [IntervalRow, IntervalRow, IntervalRow];
  // In (a) every target is an "other" one (none is fast).
  const baselineSamples = none.fastSamples + none.otherSamples;
  const baselineUsPerSample = (none.cpuMs * 1000) / Math.max(1, baselineSamples);
  // (c) ran as long as (b); scale it to (b)'s wall time in case a window ran long.
  const aloneCpuMs = alone.cpuMs * (oneFast.wallMs / Math.max(1, alone.wallMs));
  const othersUsPerSample = ((oneFast.cpuMs - aloneCpuMs) * 1000) / Math.max(1, oneFast.otherSamples);
  if (oneFast.fastPerSec < (0.5 * 1000) / options.fastMs) notes.push(`the fast target was sampled ${round(oneFast.fastPerSec)} times/s, well below 1 per ${options.fastMs} ms`);
  const baselineRate = baselineSamples / Math.max(1, none.targets) / (none.wallMs / 1000);
  return {
    options,
    rows,
    baselineUsPerSample: round(baselineUsPerSample),
    othersUsPerSample: round(othersUsPerSample),
    ratio: round(othersUsPerSample / baselineUsPerSample),
    otherRateRatio: round(oneFast.otherPerTargetPerSec / baselineRate),
    notes,
  };
}

function pool(mode: Mode, results: IntervalResult[]): IntervalRow {
  const total = (pick: (r: IntervalResult) => number) => results.reduce((t, r) => t + pick(r), 0);
  const wallMs = total((r) => r.wallMs);
  const targets = results[0]?.targets ?? 0;
  const otherSamples = total((r) => r.otherSamples);
  const fastSamples = total((r) => r.fastSamples);
  const redisKnown = results.every((r) => r.redisCpuMs !== null);
  const others = results.map((r) => r.otherCores).filter((c): c is number => c !== null);
  return {
    mode,
    runs: results.length,
    targets,
    cpuMs: round(total((r) => r.cpuUs) / 1000),
    wallMs: round(wallMs),
    fastSamples,
    otherSamples,
    ticks: total((r) => r.ticks),
    fastPerSec: round(fastSamples / (wallMs / 1000)),
    otherPerTargetPerSec: targets > 1 ? round(otherSamples / (targets - 1) / (wallMs / 1000)) : 0,
    redisCpuMs: redisKnown ? total((r) => r.redisCpuMs!) : null,
    otherCores: others.length === 0 ? null : round(others.reduce((a, b) => a + b, 0) / others.length),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const f = (x: number | null | undefined, digits = 1): string => (x == null ? '–' : x.toFixed(digits));

const MODE_LABEL: Record<Mode, string> = {
  none: '(a) nobody asks: the baseline',
  'one-fast': '(b) one target wanted fast',
  'fast-alone': '(c) that one target alone, fast',
};

/** This benchmark's section of bench/README.md. */
export function intervalSection(s: Section<IntervalReport>): string {
  const r = s.report;
  const o = r.options;
  const head = ['run', 'targets', 'CPU ms (all runs)', 'wall s', 'ticks', 'fast target samples/s', 'others: samples/s per target', 'redis CPU ms', 'other load (cores)'];
  const rows = r.rows.map((row) => [
    MODE_LABEL[row.mode],
    String(row.targets),
    f(row.cpuMs),
    f(row.wallMs / 1000),
    String(row.ticks),
    row.mode === 'none' ? '–' : f(row.fastPerSec, 2),
    row.targets > 1 ? f(row.otherPerTargetPerSec, 3) : '–',
    f(row.redisCpuMs, 0),
    f(row.otherCores, 2),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const table = [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
  const notes = r.notes.length === 0 ? '' : `\n\nNotes: ${r.notes.join('; ')}.`;
  return `## 5. One fast viewer and the collector's other targets (\`bench/collector-interval.ts\`)

**What it measures.** Whether a viewer asking one target at ${o.fastMs} ms makes the collector spend more on its
other targets. ${o.targets} idle \`/bin/sleep\` processes are pid targets of the real collector (\`createCollector\`,
writing to a private \`redis-server\`), configured at ${o.configuredMs} ms (minimum 100 ms). Each run is a fresh
process; after ${o.warmupMs / 1000} s of warm-up it measures its own CPU (\`process.cpuUsage()\`) over ${o.windowMs / 1000} s and counts,
through the \`sample\` option, each target's samples. In (b) the first target is wanted at ${o.fastMs} ms, written to
Redis as a gateway does (refreshed every second); (c) is that target alone at ${o.fastMs} ms. Each run is repeated
${o.repeats} times, in rounds, and pooled.

The others' CPU per target-sample in (b) is (CPU(b) − CPU(c)) ÷ the others' samples, against (a)'s CPU ÷ its samples.

${table}

| | µs per other target-sample |
| --- | --- |
| (a) nobody asks | ${f(r.baselineUsPerSample)} |
| (b) one target at ${o.fastMs} ms, net of (c) | ${f(r.othersUsPerSample)} |
| **ratio (b) ÷ (a)** | **${f(r.ratio, 2)}×** |
| others' sample rate, (b) ÷ (a) | ${f(r.otherRateRatio, 2)}× |${notes}

Measured ${s.startedAt} – ${s.finishedAt} with \`${s.command}\`; other load just before: ${f(s.otherCoresBefore, 2)} cores.`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  try {
    const report = await runCollectorInterval(parseIntervalFlags(process.argv.slice(2), DEFAULT_INTERVAL), (l) => console.error(l));
    console.log(JSON.stringify(report, null, 2));
  } finally {
    killAll();
  }
}
