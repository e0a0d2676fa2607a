// One sampling measurement in a fresh process (pidusage keeps module-global history, so modes must
// not share a process): `batched` (one pidusage call per tick, the floor), `per-pid` (one call per
// pid, the naive way) or `vigil` (the real collector, createCollector, writing every tick to Redis).
// Ticks run on the collector's cadence: every intervalMs, or at once when a tick overran.
// CPU is this process's own (process.cpuUsage), from the start of tick warmup+1 to the start of tick
// warmup+ticks+1, so it covers `ticks` whole ticks including their publish and the idle time between.
import pidusage from 'pidusage';
import { pino } from 'pino';
import { createCollector, type SampleFn } from '@vigil/collector';
import { monoNow, onParentMessage, tellParent, type Message } from './lib/children.js';
import { machineBusyMs, otherCores, ownCpuUs, processCpuMs } from './lib/cpu.js';

export type SamplingMode = 'batched' | 'per-pid' | 'vigil';

export type SamplingJob = {
  mode: SamplingMode;
  pids: number[];
  intervalMs: number;
  warmupTicks: number;
  ticks: number;
  redisUrl: string;
  redisPid: number | null;
  /** Gives up (and reports what it has) after this long. */
  deadlineMs: number;
};

export type SamplingResult = {
  mode: SamplingMode;
  targets: number;
  ticks: number;
  cpuUs: number;
  wallMs: number;
  /** CPU spent inside the pidusage calls (vigil: the sampler's share of a tick). */
  sampleCpuUs: number;
  /** Wall time a tick's work takes, mean over the measured ticks (null for vigil: not observable from outside). */
  tickBusyMs: number | null;
  redisCpuMs: number | null;
  /** Cores' worth of CPU used by other processes than this one and redis-server during the window. */
  otherCores: number | null;
  /** Targets with no figure in a sample (should be 0). */
  missing: number;
  /** vigil only: samples the collector reports written during the measured ticks. */
  samplesWritten: number | null;
  complete: boolean;
};

const sampleFn = pidusage as unknown as SampleFn;

type Window = {
  cpu0: number;
  wall0: number;
  redis0: number | null;
  busy0: number | null;
  sampleCpuUs: number;
  busyMs: number;
  missing: number;
};

async function run(job: SamplingJob): Promise<SamplingResult> {
  const maxage = 3 * job.intervalMs;
  const total = job.warmupTicks + job.ticks;
  let tick = 0;
  let window: Window | null = null;
  let result: SamplingResult | null = null;
  let written0 = 0;
  let stats: (() => number) | null = null;

  // Read through a function: TypeScript cannot see that callbacks assign `window`.
  const measuring = (): Window | null => window;
  const redisCpu = () => (job.redisPid === null ? null : processCpuMs(job.redisPid));
  const finish = (): SamplingResult => {
    const w = window;
    const cpuUs = w ? ownCpuUs() - w.cpu0 : 0;
    const redis1 = redisCpu();
    const busy1 = machineBusyMs();
    const wallMs = w ? monoNow() - w.wall0 : 0;
    const redisMs = w && w.redis0 !== null && redis1 !== null ? redis1 - w.redis0 : null;
    const measured = Math.max(0, tick - job.warmupTicks);
    return {
      mode: job.mode,
      targets: job.pids.length,
      ticks: measured,
      cpuUs,
      wallMs,
      sampleCpuUs: w?.sampleCpuUs ?? 0,
      tickBusyMs: job.mode === 'vigil' ? null : w && measured > 0 ? w.busyMs / measured : 0,
      redisCpuMs: redisMs,
      otherCores: otherCores(w && w.busy0 !== null && busy1 !== null ? busy1 - w.busy0 : null, cpuUs / 1000 + (redisMs ?? 0), wallMs),
      missing: w?.missing ?? 0,
      samplesWritten: stats ? stats() - written0 : null,
      complete: measured >= job.ticks,
    };
  };

  /** Called at the start of every tick; true when the measurement is over. */
  const onTickStart = (): boolean => {
    if (tick === job.warmupTicks) {
      window = { cpu0: ownCpuUs(), wall0: monoNow(), redis0: redisCpu(), busy0: machineBusyMs(), sampleCpuUs: 0, busyMs: 0, missing: 0 };
      written0 = stats ? stats() : 0;
    }
    if (tick === total) {
      result = finish();
      return true;
    }
    tick++;
    return false;
  };

  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const c0 = ownCpuUs();
    try {
      return await fn();
    } finally {
      const w = measuring();
      if (w) w.sampleCpuUs += ownCpuUs() - c0;
    }
  };
  const countMissing = (got: Record<string, unknown>, pids: readonly number[]) => {
    const w = measuring();
    if (w) for (const pid of pids) if (!got[pid]) w.missing++;
  };

  const deadline = monoNow() + job.deadlineMs;

  if (job.mode === 'vigil') {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const sample: SampleFn = async (pids, options) => {
      // The collector calls this at the start of each tick; the previous tick's write is done by then.
      if (result || onTickStart()) {
        done();
        return sampleFn(pids, options);
      }
      const got = await timed(() => sampleFn(pids, options));
      countMissing(got, job.pids);
      return got;
    };
    const collector = createCollector({
      redisUrl: job.redisUrl,
      collectorId: 'bench-collector',
      host: 'bench-host',
      targets: job.pids.map((pid, i) => ({ id: `bench-t${String(i).padStart(4, '0')}`, pid, intervalMs: job.intervalMs })),
      logger: pino({ level: 'silent' }),
      sample,
    });
    stats = () => collector.stats().samplesWritten;
    await collector.start();
    const timer = setTimeout(done, Math.max(0, deadline - monoNow()));
    await finished;
    clearTimeout(timer);
    result ??= finish();
    const failures = collector.stats().writeFailures;
    await collector.stop();
    if (failures > 0) throw new Error(`collector write failures: ${failures}`);
    return result;
  }

  const startedAt = monoNow();
  for (;;) {
    if (onTickStart() || monoNow() > deadline) break;
    const t0 = monoNow();
    if (job.mode === 'batched') {
      const got = await timed(() => sampleFn(job.pids, { maxage }));
      countMissing(got, job.pids);
    } else {
      for (const pid of job.pids) {
        const got = await timed(() => (pidusage as unknown as (p: number, o: { maxage: number }) => Promise<unknown>)(pid, { maxage }));
        countMissing({ [pid]: got }, [pid]);
      }
    }
    const w = measuring();
    if (w) w.busyMs += monoNow() - t0;
    const due = startedAt + tick * job.intervalMs;
    const wait = due - monoNow();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return result ?? finish();
}

onParentMessage(
  async (m: Message) => {
    if (m.type !== 'run') return;
    const result = await run(m.job as SamplingJob);
    tellParent({ type: 'result', result });
  },
  async () => {},
);
tellParent({ type: 'ready' });
