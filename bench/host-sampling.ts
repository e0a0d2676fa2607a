// Benchmark: collector CPU per host sample. One sample of the host (CPU total and per core, load,
// memory, uptime, network, mount usage) taken in three ways, in rounds, in this one process:
//   (a) floor: the same /proc files read from kept-open descriptors and statfs("/"), nothing parsed;
//   (b) vigil sampler: HostSampler.sample() (reads, parses, computes deltas and the payload);
//   (c) vigil sampler + write: as (b), then HostWriter.write() to a private redis-server (history
//       XADD + latest SET + SPUBLISH in one Lua call, then the host registry), as the collector does.
// CPU is this process's own (process.cpuUsage), µs per sample; Redis's own CPU for (c) is reported
// apart, from INFO. Run directly to print the JSON result.
import { closeSync, openSync, readSync, promises as fsp } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { HostSampler } from '@vigil/collector';
import { HostWriter } from '@vigil/store';
import { startRedis } from '@vigil/testkit';
import { ownCpuUs } from './lib/cpu.js';

export type HostSamplingOptions = { samples: number; warmup: number; repeats: number };
export const DEFAULT_HOST_SAMPLING: HostSamplingOptions = { samples: 2000, warmup: 200, repeats: 3 };

export type HostMode = 'floor' | 'sampler' | 'sampler+write';
export type HostRow = {
  mode: HostMode;
  /** Median over the rounds of this process's CPU µs per sample. */
  usPerSample: number;
  perRoundUs: number[];
  /** Redis CPU µs per sample (INFO used_cpu_*), for the mode that writes. */
  redisUsPerSample: number | null;
  /** Wall-clock µs per sample, median over rounds (the samples run back to back). */
  wallUsPerSample: number;
};
export type HostSamplingReport = {
  options: HostSamplingOptions;
  cores: number;
  rows: HostRow[];
  ratios: { samplerOverFloor: number; writeOverFloor: number };
  notes: string[];
};

const PROC_FILES = ['/proc/stat', '/proc/meminfo', '/proc/loadavg', '/proc/uptime', '/proc/net/dev'];

/** The least work that gets the same facts: the files read, nothing parsed. */
function floorSampler(): { sample(): Promise<void>; close(): void } {
  const fds = PROC_FILES.map((p) => openSync(p, 'r'));
  const buf = Buffer.allocUnsafe(128 * 1024);
  return {
    async sample() {
      for (const fd of fds) readSync(fd, buf, 0, buf.length, 0);
      await fsp.statfs('/');
    },
    close: () => fds.forEach((fd) => closeSync(fd)),
  };
}

async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const num = (key: string) => Number(new RegExp(`${key}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (num('used_cpu_sys') + num('used_cpu_user')) * 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export async function runHostSampling(options: HostSamplingOptions, log: (line: string) => void = () => {}): Promise<HostSamplingReport> {
  const redisProcess = await startRedis();
  const redis = new Redis(redisProcess.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const floor = floorSampler();
  const sampler = new HostSampler({ mounts: ['/'], excludeInterfaces: ['lo'] });
  const writer = new HostWriter(redis, { uid: 'vigil-bench-host', maxLen: 720 });
  const host = 'bench-host';
  const modes: Record<HostMode, () => Promise<void>> = {
    floor: () => floor.sample(),
    sampler: async () => {
      await sampler.sample();
    },
    'sampler+write': async () => {
      const data = await sampler.sample();
      await writer.write({ host, collectorId: 'bench', data, timestamp: data.timestamp }, Date.now());
    },
  };
  const runs: Record<HostMode, { cpu: number[]; wall: number[]; redis: number[] }> = {
    floor: { cpu: [], wall: [], redis: [] },
    sampler: { cpu: [], wall: [], redis: [] },
    'sampler+write': { cpu: [], wall: [], redis: [] },
  };
  try {
    for (let round = 0; round < options.repeats; round++) {
      for (const mode of Object.keys(modes) as HostMode[]) {
        const once = modes[mode];
        for (let i = 0; i < options.warmup; i++) await once();
        const redisBefore = mode === 'sampler+write' ? await redisCpuUs(redis) : 0;
        const cpuBefore = ownCpuUs();
        const wallBefore = performance.now();
        for (let i = 0; i < options.samples; i++) await once();
        const wall = ((performance.now() - wallBefore) * 1000) / options.samples;
        const cpu = (ownCpuUs() - cpuBefore) / options.samples;
        runs[mode].cpu.push(cpu);
        runs[mode].wall.push(wall);
        if (mode === 'sampler+write') runs[mode].redis.push(((await redisCpuUs(redis)) - redisBefore) / options.samples);
        log(`host sampling round ${round + 1}/${options.repeats} ${mode}: ${round1(cpu)} µs CPU per sample`);
      }
    }
  } finally {
    floor.close();
    sampler.close();
    redis.disconnect();
    await redisProcess.close();
  }
  const rows: HostRow[] = (Object.keys(runs) as HostMode[]).map((mode) => ({
    mode,
    usPerSample: round1(median(runs[mode].cpu)),
    perRoundUs: runs[mode].cpu.map(round1),
    redisUsPerSample: runs[mode].redis.length > 0 ? round1(median(runs[mode].redis)) : null,
    wallUsPerSample: round1(median(runs[mode].wall)),
  }));
  const us = (mode: HostMode) => rows.find((r) => r.mode === mode)!.usPerSample;
  return {
    options,
    cores: cpus().length,
    rows,
    ratios: { samplerOverFloor: Math.round((us('sampler') / us('floor')) * 100) / 100, writeOverFloor: Math.round((us('sampler+write') / us('floor')) * 100) / 100 },
    notes: [
      'Samples run back to back (no interval): CPU per sample is what a collector spends per host sample at any interval.',
      'The client-side CPU of (c) includes ioredis encoding and parsing; Redis CPU is reported apart.',
    ],
  };
}

/** The README section for this benchmark. */
export function hostSamplingSection(s: { command: string; startedAt: string; otherCoresBefore: number | null; report: HostSamplingReport }): string {
  const r = s.report;
  const label: Record<HostMode, string> = {
    floor: '(a) floor: the /proc files read from open descriptors + statfs("/"), nothing parsed',
    sampler: '(b) vigil `HostSampler.sample()`',
    'sampler+write': '(c) vigil sample + `HostWriter.write()` to Redis',
  };
  const rows = r.rows.map(
    (row) =>
      `| ${label[row.mode]} | ${row.usPerSample.toFixed(1)} | ${row.perRoundUs.map((x) => x.toFixed(1)).join(', ')} | ${row.redisUsPerSample === null ? '–' : row.redisUsPerSample.toFixed(1)} | ${row.wallUsPerSample.toFixed(1)} |`,
  );
  return `## 4. Collector CPU per host sample (\`bench/host-sampling.ts\`)

**What it measures.** The CPU a collector spends on one sample of its host (CPU total and per core from
/proc/stat, load, memory, uptime, network from /proc/net/dev, usage of "/"), against the floor of reading the
same files without parsing them, on this ${r.cores}-core machine. ${r.options.samples} samples per round after
${r.options.warmup} warm-up samples, ${r.options.repeats} rounds, modes interleaved; medians over rounds.

Measured ${s.startedAt} (other load before: ${s.otherCoresBefore === null ? '–' : s.otherCoresBefore.toFixed(2)} cores) with \`${s.command}\`.

| mode | µs CPU / sample | per round | Redis µs / sample | wall µs / sample |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

Ratios against the floor, same run: sampler ${r.ratios.samplerOverFloor.toFixed(2)}×, sampler + write ${r.ratios.writeOverFloor.toFixed(2)}×.
At the default interval (5 s), (c) is ${(((r.rows.find((x) => x.mode === 'sampler+write')?.usPerSample ?? 0) / 5e6) * 100).toFixed(4)} % of one core.

${r.notes.map((n) => `- ${n}`).join('\n')}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runHostSampling(DEFAULT_HOST_SAMPLING, (line) => console.error(line));
  console.log(JSON.stringify(report, null, 2));
}
