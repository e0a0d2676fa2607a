// One run of the interval benchmark in a fresh process: the real collector (createCollector) with
// `pids` as pid targets at `configuredMs`, and optionally the first target wanted at `fastMs`, as a
// gateway records it (InterestStore, refreshed every second). After a warm-up, it measures its own
// CPU over a window, and counts per target the samples the collector took (through the `sample` option).
import pidusage from 'pidusage';
import { pino } from 'pino';
import { createCollector, type SampleFn } from '@vigil/collector';
import { INTEREST_TTL_MS } from '@vigil/protocol';
import { InterestStore, closeRedis, createRedis } from '@vigil/store';
import { monoNow, onParentMessage, tellParent, type Message } from './lib/children.js';
import { machineBusyMs, otherCores, ownCpuUs, processCpuMs } from './lib/cpu.js';

export type IntervalJob = {
  pids: number[];
  configuredMs: number;
  /** The first target is wanted at this interval (null: nobody asks). */
  fastMs: number | null;
  warmupMs: number;
  windowMs: number;
  redisUrl: string;
  redisPid: number | null;
};

export type IntervalResult = {
  targets: number;
  fastMs: number | null;
  cpuUs: number;
  wallMs: number;
  /** Samples of the first target, and of all the others, taken in the window. */
  fastSamples: number;
  otherSamples: number;
  ticks: number;
  redisCpuMs: number | null;
  otherCores: number | null;
};

const COLLECTOR = 'bench-interval';
const sampleFn = pidusage as unknown as SampleFn;

async function run(job: IntervalJob): Promise<IntervalResult> {
  const fastPid = job.pids[0]!;
  let counting = false;
  let fastSamples = 0;
  let otherSamples = 0;
  let ticks = 0;
  const sample: SampleFn = (pids, options) => {
    if (counting) {
      ticks++;
      for (const pid of pids) {
        if (pid === fastPid) fastSamples++;
        else if (pid !== process.pid) otherSamples++;
      }
    }
    return sampleFn(pids, options);
  };
  const collector = createCollector({
    redisUrl: job.redisUrl,
    collectorId: COLLECTOR,
    host: 'bench-host',
    targets: job.pids.map((pid, i) => ({ id: `bench-t${String(i).padStart(4, '0')}`, pid, intervalMs: job.configuredMs, minIntervalMs: 100 })),
    logger: pino({ level: 'silent' }),
    sample,
  });
  const redis = createRedis(job.redisUrl, 'command');
  const store = new InterestStore(redis);
  const ask = () =>
    job.fastMs === null
      ? Promise.resolve()
      : store.write('bench-gateway', new Map([[COLLECTOR, [{ serverId: 'bench-t0000', intervalMs: job.fastMs }]]]), INTEREST_TTL_MS, 60_000);
  // As a gateway does: the ask refreshed every second. Done in this process, so its cost is counted
  // here too (a few µs a second), which only makes the "fast" run look worse.
  await ask();
  const refresh = setInterval(() => void ask().catch(() => undefined), 1000);
  await collector.start();
  await new Promise((resolve) => setTimeout(resolve, job.warmupMs));
  const redisCpu = () => (job.redisPid === null ? null : processCpuMs(job.redisPid));
  const cpu0 = ownCpuUs();
  const wall0 = monoNow();
  const redis0 = redisCpu();
  const busy0 = machineBusyMs();
  counting = true;
  await new Promise((resolve) => setTimeout(resolve, job.windowMs));
  counting = false;
  const cpuUs = ownCpuUs() - cpu0;
  const wallMs = monoNow() - wall0;
  const redis1 = redisCpu();
  const busy1 = machineBusyMs();
  clearInterval(refresh);
  const failures = collector.stats().writeFailures;
  await collector.stop();
  await closeRedis(redis);
  if (failures > 0) throw new Error(`collector write failures: ${failures}`);
  const redisCpuMs = redis0 !== null && redis1 !== null ? redis1 - redis0 : null;
  return {
    targets: job.pids.length,
    fastMs: job.fastMs,
    cpuUs,
    wallMs,
    fastSamples,
    otherSamples,
    ticks,
    redisCpuMs,
    otherCores: otherCores(busy0 !== null && busy1 !== null ? busy1 - busy0 : null, cpuUs / 1000 + (redisCpuMs ?? 0), wallMs),
  };
}

onParentMessage(
  async (m: Message) => {
    if (m.type !== 'run') return;
    tellParent({ type: 'result', result: await run(m.job as IntervalJob) });
  },
  async () => {},
);
tellParent({ type: 'ready' });
