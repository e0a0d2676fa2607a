// The collector's own CPU per target-sample, with sampling faked: createCollector with N pid targets
// (on 10 real idle processes, round-robin) writing every tick to a private redis-server, its
// batched sampler replaced by one that answers at once with made-up figures. What is left is
// everything vigil adds to sampling (tracking, building the tick, encoding, the write, the idle
// machinery between ticks), without pidusage's own run-to-run spread: a quick A/B for changes to
// that path. The ratio in bench/README.md §1 comes from bench/collector-sampling.ts, not from here.
//   node --import tsx --conditions=vigil:source bench/collector-own.ts   (N=1000 TICKS=150 INTERVAL=100 HOST=1)
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import { createCollector, type SampleFn } from '@vigil/collector';
import { startRedis } from '@vigil/testkit';

const N = Number(process.env.N ?? 1000);
const TICKS = Number(process.env.TICKS ?? 150);
const INTERVAL = Number(process.env.INTERVAL ?? 100);
const WARMUP = 20;
const DEADLINE_MS = 10 * 60_000;

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const redis = await startRedis();
const sleepers = Array.from({ length: 10 }, () => spawn('/bin/sleep', ['900'], { stdio: 'ignore' }));
await Promise.all(sleepers.map((s) => new Promise((resolve, reject) => s.once('spawn', resolve).once('error', reject))));
const pids = sleepers.map((s) => s.pid!);

let tick = 0;
let cpu0 = 0;
let wall0 = 0;
let done!: () => void;
const finished = new Promise<void>((resolve) => (done = resolve));
const sample: SampleFn = async (ask) => {
  tick++;
  if (tick === WARMUP) {
    cpu0 = cpuUs();
    wall0 = performance.now();
  }
  if (tick === WARMUP + TICKS) done();
  const out: Record<string, { cpu: number; memory: number; elapsed: number; ctime: number }> = {};
  // Every process keeps its identity (its start stays put relative to the agent's).
  for (const pid of ask) out[pid] = { cpu: 1.5 + (tick % 7), memory: 12_345_678 + tick * 4096, elapsed: (pid === process.pid ? 10_000_000 : 5_000_000) + tick * INTERVAL, ctime: 1234 + tick };
  return out;
};
const collector = createCollector({
  redisUrl: redis.url,
  collectorId: 'own',
  host: 'own-host',
  targets: Array.from({ length: N }, (_, i) => ({ id: `bench-t${String(i).padStart(4, '0')}`, pid: pids[i % pids.length]!, intervalMs: INTERVAL })),
  logger: pino({ level: 'silent' }),
  sample,
  hostMetrics: { enabled: process.env.HOST !== '0' },
});
const timer = setTimeout(done, DEADLINE_MS);
try {
  await collector.start();
  await finished;
  const used = cpuUs() - cpu0;
  const wall = performance.now() - wall0;
  const ticks = Math.max(1, tick - WARMUP);
  console.log(JSON.stringify({ targets: N, ticks, usPerTargetSample: +(used / (ticks * N)).toFixed(2), cpuMsPerTick: +(used / ticks / 1000).toFixed(2), wallMsPerTick: +(wall / ticks).toFixed(1), samplesWritten: collector.stats().samplesWritten }));
} finally {
  clearTimeout(timer);
  await collector.stop();
  for (const s of sleepers) s.kill('SIGKILL');
  await redis.close();
}
