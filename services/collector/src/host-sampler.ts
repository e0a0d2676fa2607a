// Samples the host the collector runs on, straight from /proc (no dependency, no child process):
// CPU (total and per core, from /proc/stat deltas), load averages, memory and swap, uptime,
// network rates (from /proc/net/dev deltas) and the usage of configured mounts (statfs).
// The /proc files are kept open and re-read from offset 0, which costs a few µs each. Rates
// and percentages are since the previous sample, or since boot for the first one.
import { closeSync, openSync, readSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  HOST_MAX_CORES,
  HOST_MAX_INTERFACES,
  HOST_MAX_MOUNTS,
  HOST_MOUNT_PATH_MAX_LENGTH,
  HOST_NAME_FIELD_MAX_LENGTH,
  type HostMetrics,
} from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';

export type HostSamplerOptions = {
  /** Mount points whose usage is reported (at most HOST_MAX_MOUNTS). */
  mounts: readonly string[];
  /** Interfaces left out of the network figures. */
  excludeInterfaces: readonly string[];
  /** Where procfs is mounted; default /proc (tests hand in a directory of their own). */
  procDir?: string;
  /** How long one statfs may take before its mount is left out of the sample (a hung NFS server). */
  statfsTimeoutMs?: number;
  /** Monotonic clock in ms, for rates. */
  monotonic?: () => number;
  /** statfs; default node:fs's. */
  statfs?: (path: string) => Promise<{ blocks: number; bfree: number; bavail: number; bsize: number }>;
};

/** Jiffies of one CPU line: busy and total (idle and iowait are not busy). */
type CpuTimes = { busy: number; total: number };
type NetCounters = Map<string, { rx: number; tx: number }>;

const FILES = ['stat', 'meminfo', 'loadavg', 'uptime', 'net/dev'] as const;
type ProcFile = (typeof FILES)[number];
/** Enough for the cpu lines of HOST_MAX_CORES cores; they come first in /proc/stat. */
const BUFFER_BYTES = 128 * 1024;
const DEFAULT_STATFS_TIMEOUT_MS = 1000;

export class HostSampler {
  readonly #o: Required<Omit<HostSamplerOptions, 'procDir'>>;
  readonly #procDir: string;
  readonly #fds = new Map<ProcFile, number>();
  readonly #buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  readonly #excluded: Set<string>;
  /**
   * A mount whose statfs has not answered yet. The timeout only stops waiting: the call keeps its
   * libuv thread (a hung NFS mount never answers), so no second one is started for that mount
   * until it does, or a few samples would take every thread of the pool from the collector's
   * file and /proc reads.
   */
  readonly #statfsPending = new Set<string>();
  #previousCpu: CpuTimes[] | null = null;
  #previousNet: { at: number; counters: NetCounters } | null = null;

  constructor(options: HostSamplerOptions) {
    this.#procDir = options.procDir ?? '/proc';
    this.#excluded = new Set(options.excludeInterfaces);
    this.#o = {
      mounts: options.mounts.slice(0, HOST_MAX_MOUNTS),
      excludeInterfaces: options.excludeInterfaces,
      statfsTimeoutMs: options.statfsTimeoutMs ?? DEFAULT_STATFS_TIMEOUT_MS,
      monotonic: options.monotonic ?? (() => performance.now()),
      statfs: options.statfs ?? ((path) => fsp.statfs(path)),
    };
  }

  /** One sample of the host. Throws when procfs cannot be read (not Linux, or /proc not mounted). */
  async sample(now: number = Date.now()): Promise<HostMetrics> {
    const mounts = this.#mounts();
    const at = this.#o.monotonic();
    const uptime = firstNumber(this.#read('uptime'));
    const cpu = this.#cpu(this.#read('stat'));
    const network = this.#network(this.#read('net/dev'), at, uptime);
    const memory = parseMeminfo(this.#read('meminfo'));
    const load = this.#read('loadavg').split(' ');
    return {
      cpu,
      load: { one: nonNegative(load[0]), five: nonNegative(load[1]), fifteen: nonNegative(load[2]) },
      memory,
      uptime: round2(uptime),
      network,
      mounts: await mounts,
      timestamp: new Date(now).toISOString(),
    };
  }

  /** Closes the kept-open /proc files; a later sample() opens them again. */
  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }

  #read(file: ProcFile): string {
    let fd = this.#fds.get(file);
    if (fd === undefined) {
      fd = openSync(join(this.#procDir, file), 'r');
      this.#fds.set(file, fd);
    }
    const n = readSync(fd, this.#buffer, 0, BUFFER_BYTES, 0);
    return this.#buffer.toString('latin1', 0, n);
  }

  #cpu(text: string): HostMetrics['cpu'] {
    // The cpu lines come first; the rest (the long `intr` line above all) is not even split.
    const current: CpuTimes[] = [];
    let at = 0;
    while (text.startsWith('cpu', at)) {
      const end = text.indexOf('\n', at);
      current.push(cpuTimes(text.slice(at, end < 0 ? text.length : end)));
      if (end < 0) break;
      at = end + 1;
    }
    const previous = this.#previousCpu;
    this.#previousCpu = current;
    const percents = current.map((c, i) => busyPercent(c, previous?.[i]));
    const [total = 0, ...cores] = percents;
    return { total, cores: cores.slice(0, HOST_MAX_CORES), count: cores.length };
  }

  #network(text: string, at: number, uptime: number): HostMetrics['network'] {
    const counters: NetCounters = new Map();
    for (const line of text.split('\n').slice(2)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      if (name === '' || this.#excluded.has(name)) continue;
      const fields = line.slice(colon + 1).trim().split(/\s+/);
      counters.set(name, { rx: Number(fields[0]) || 0, tx: Number(fields[8]) || 0 });
    }
    const previous = this.#previousNet;
    this.#previousNet = { at, counters };
    const seconds = previous ? (at - previous.at) / 1000 : uptime;
    // An interface seen for the first time after the first sample has no rate yet (0).
    const rate = (now: number, before: number | undefined) =>
      seconds > 0 ? round2(Math.max(0, now - (before ?? (previous ? now : 0))) / seconds) : 0;
    let rxBytesPerSec = 0;
    let txBytesPerSec = 0;
    const interfaces: HostMetrics['network']['interfaces'] = [];
    for (const [name, c] of counters) {
      const before = previous?.counters.get(name);
      const rx = rate(c.rx, before?.rx);
      const tx = rate(c.tx, before?.tx);
      rxBytesPerSec += rx;
      txBytesPerSec += tx;
      if (interfaces.length < HOST_MAX_INTERFACES) interfaces.push({ name: name.slice(0, HOST_NAME_FIELD_MAX_LENGTH), rxBytesPerSec: rx, txBytesPerSec: tx });
    }
    return { rxBytesPerSec: round2(rxBytesPerSec), txBytesPerSec: round2(txBytesPerSec), interfaces, count: counters.size };
  }

  async #mounts(): Promise<HostMetrics['mounts']> {
    const results = await Promise.all(
      this.#o.mounts.map((path) => {
        if (this.#statfsPending.has(path)) return null;
        this.#statfsPending.add(path);
        const call = this.#o.statfs(path);
        void call.then(
          () => this.#statfsPending.delete(path),
          () => this.#statfsPending.delete(path),
        );
        return withTimeout(call, this.#o.statfsTimeoutMs, `statfs ${path}`).then(
          (s) => ({
            path: path.slice(0, HOST_MOUNT_PATH_MAX_LENGTH),
            total: s.blocks * s.bsize,
            used: Math.max(0, s.blocks - s.bfree) * s.bsize,
            available: s.bavail * s.bsize,
          }),
          () => null,
        );
      }),
    );
    return results.filter((m) => m !== null);
  }
}

function cpuTimes(line: string): CpuTimes {
  // cpuN user nice system idle iowait irq softirq steal guest guest_nice (guest is counted in user).
  const f = line.split(/\s+/).slice(1, 9).map((v) => Number(v) || 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function busyPercent(now: CpuTimes, before: CpuTimes | undefined): number {
  const total = now.total - (before?.total ?? 0);
  const busy = now.busy - (before?.busy ?? 0);
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, round2((busy / total) * 100)));
}

function parseMeminfo(text: string): HostMetrics['memory'] {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) kb.set(line.slice(0, colon), firstNumber(line.slice(colon + 1)) * 1024);
  }
  const total = kb.get('MemTotal') ?? 0;
  // Kernels before 3.14 have no MemAvailable: free + buffers + page cache is the old estimate.
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  const swapTotal = kb.get('SwapTotal') ?? 0;
  return {
    total,
    available: Math.min(total, available),
    used: Math.max(0, total - available),
    swapTotal,
    swapUsed: Math.max(0, swapTotal - (kb.get('SwapFree') ?? 0)),
  };
}

function firstNumber(text: string): number {
  return nonNegative(/[\d.]+/.exec(text)?.[0]);
}

function nonNegative(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
