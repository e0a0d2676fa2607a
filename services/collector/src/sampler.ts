// Sampling: every pid of a tick in ONE batched pidusage call, each live process turned into an
// Observation that carries its identity (pid, start time).
//
// Start time, exactly and for free: pidusage's procfile backend reads /proc/uptime once per call,
// so within one call `elapsed_self - elapsed_X` is the exact difference of the start times (a
// multiple of the 10 ms clock tick). The agent's own pid is always in the batch as that anchor.
//
// pidusage keeps an open fd on /proc/<pid>/stat per pid in module-global history. Once that
// process is gone, the cached fd answers ESRCH for as long as the pid is asked for, even if a new
// process has taken the pid. So a pid that failed after having been read is not asked for again
// until pidusage's own sweeper has closed that fd. (pidusage.clear() would drop the fds without
// closing them.)
import pidusage from 'pidusage';
import { ErrorCodes, VigilError, type ProcessInfo } from '@vigil/protocol';
import { InOrder } from '@vigil/protocol/runtime';
import type { ByteLines, EventBody } from '@vigil/store';

/** `ctime`: CPU time (user + system) in ms since the process started; pidusage's procfile backend gives it. */
export type PidStat = { cpu: number; memory: number; elapsed: number; ctime?: number };
export type SampleFn = (pids: number[], options: { maxage: number }) => Promise<Record<string, PidStat | null | undefined>>;

/** One process at its latest sample. The same process keeps one object, updated in place by each sample (Sampler#observe). */
export type Observation = {
  pid: number;
  /** `${pid}@${startKey}`: the same process for as long as it lives, never another one. */
  key: string;
  /** Start time relative to the agent's own start, in ms (exact to the 10 ms tick). */
  startKey: number;
  /** Percent of one core since this pid was last sampled, two decimals. */
  cpu: number;
  /** CPU time (user + system) since the process started, in ms; undefined if the sampler did not say. */
  cpuTimeMs?: number | undefined;
  rss: number;
  elapsedMs: number;
  /** Epoch ms of the sample and of the process start (for display). */
  at: number;
  startedAt: number;
};

export type SamplerOptions = {
  /** pidusage-compatible batched sampler; injectable so tests can count calls. */
  sample?: SampleFn;
  now: () => number;
  /** Passed to pidusage as `maxage`: how long it keeps per-pid history without being asked. */
  maxAgeMs: number;
  selfPid?: number;
};

const CLOCK_TICK_MS = 10;

// ---- what we know of pidusage's module-global cache (shared by every Sampler in the process)
let largestMaxAge = 0;
/** pid → monotonic ms of the last successful read (pidusage may hold an fd for it); updated in place. */
const readAt = new Map<number, { at: number }>();
/** pid → monotonic ms before which it is not asked for (its stale fd may still be cached). */
const quarantinedUntil = new Map<number, number>();
/** pidusage's history is global: calls are serialized so /proc/uptime stays one value per call. */
const pidusageCalls = new InOrder();

function cacheLifetime(maxAgeMs: number): number {
  // Expiry after maxage, then up to one sweep period (half the first maxage pidusage was given).
  return maxAgeMs + largestMaxAge / 2 + 100;
}

export class Sampler {
  readonly #sample: SampleFn;
  readonly #now: () => number;
  readonly #maxAgeMs: number;
  readonly #selfPid: number;
  /** The Observation of each process seen at the last sample, by pid (see #observe). */
  readonly #known = new Map<number, Observation>();

  constructor(options: SamplerOptions) {
    this.#sample = options.sample ?? (pidusage as unknown as SampleFn);
    this.#now = options.now;
    this.#maxAgeMs = options.maxAgeMs;
    this.#selfPid = options.selfPid ?? process.pid;
    largestMaxAge = Math.max(largestMaxAge, this.#maxAgeMs);
  }

  /** Observations of the live processes among `pids` (and of the agent itself). */
  async sample(pids: readonly number[]): Promise<Map<number, Observation>> {
    const t0 = performance.now();
    const lifetime = cacheLifetime(this.#maxAgeMs);
    // forEach, not for-of over entries: that made an array per pid per tick.
    quarantinedUntil.forEach((until, pid) => void (until <= t0 && quarantinedUntil.delete(pid)));
    readAt.forEach((read, pid) => void (t0 - read.at > lifetime && readAt.delete(pid)));

    const ask = [this.#selfPid];
    for (const pid of new Set(pids)) if (pid !== this.#selfPid && !quarantinedUntil.has(pid)) ask.push(pid);
    let stats: Awaited<ReturnType<SampleFn>>;
    try {
      stats = await pidusageCalls.run(() => this.#sample(ask, { maxage: this.#maxAgeMs }));
    } catch (err) {
      throw new VigilError(ErrorCodes.SAMPLE_FAILED, `pidusage failed: ${(err as Error).message}`, { cause: err });
    }
    const at = this.#now();
    const self = stats[this.#selfPid];
    if (!self) throw new VigilError(ErrorCodes.SAMPLE_FAILED, 'pidusage returned nothing for the agent itself');

    const out = new Map<number, Observation>();
    for (const pid of ask) {
      const s = stats[pid];
      if (!s) {
        if (readAt.delete(pid)) quarantinedUntil.set(pid, t0 + lifetime);
        this.#known.delete(pid);
        continue;
      }
      const read = readAt.get(pid);
      if (read) read.at = t0;
      else readAt.set(pid, { at: t0 });
      out.set(pid, this.#observe(pid, s, self.elapsed, at));
    }
    // Processes no longer asked for are forgotten (a target removed, a match that went away).
    if (this.#known.size > 2 * out.size + 64) for (const pid of this.#known.keys()) if (!out.has(pid)) this.#known.delete(pid);
    return out;
  }

  /**
   * The Observation of `pid` at this sample. The same process keeps one object, updated in place
   * sample after sample: the servers hold their process across ticks, and a new object (and key
   * string) per process per tick was garbage that lived long enough to cost the collector its
   * largest collections. Another process, even on the same pid, gets a new object.
   */
  #observe(pid: number, s: PidStat, selfElapsed: number, at: number): Observation {
    const startKey = Math.round((selfElapsed - s.elapsed) / CLOCK_TICK_MS) * CLOCK_TICK_MS;
    const elapsedMs = Math.max(0, s.elapsed);
    const cpuTimeMs = typeof s.ctime === 'number' && s.ctime >= 0 ? s.ctime : undefined;
    let o = this.#known.get(pid);
    if (o && o.startKey === startKey) {
      o.cpu = Math.round(Math.max(0, s.cpu) * 100) / 100;
      o.rss = Math.max(0, s.memory);
      o.elapsedMs = elapsedMs;
      o.at = at;
      o.startedAt = at - elapsedMs;
      o.cpuTimeMs = cpuTimeMs;
      return o;
    }
    o = { pid, key: `${pid}@${startKey}`, startKey, cpu: Math.round(Math.max(0, s.cpu) * 100) / 100, rss: Math.max(0, s.memory), elapsedMs, at, startedAt: at - elapsedMs, cpuTimeMs };
    this.#known.set(pid, o);
    return o;
  }
}

/** new Date(ms).toISOString(), remembered for the last ms asked: every sample of a tick shares its time. */
export function isoTime(ms: number): string {
  if (ms !== lastIso.ms) lastIso = { ms, iso: new Date(ms).toISOString() };
  return lastIso.iso;
}
let lastIso = { ms: Number.NaN, iso: '' };

/** The `processInfo` of a `process:info` payload. */
export function toProcessInfo(o: Observation): ProcessInfo {
  return {
    pid: o.pid,
    cpu: o.cpu,
    memory: { rss: o.rss, heapUsed: 0, heapTotal: 0, external: 0 },
    uptime: Math.floor(o.elapsedMs / 1000),
    timestamp: isoTime(o.at),
  };
}

/**
 * The `process:info` payload of one sample, `JSON.stringify({ serverId, processInfo:
 * toProcessInfo(o), timestamp })` byte for byte, written as bytes (this runs once per target per
 * tick; byte-lines.ts in the store says why not as a string). `head` holds what is fixed for the
 * server (processInfoHead, kept by the publisher), `tail` what is fixed for the tick
 * (processInfoTail). A test holds it equal to JSON.stringify.
 */
export class ProcessInfoBody implements EventBody {
  readonly sizeHint = 256;
  readonly #head: Buffer;
  readonly #o: Observation;
  readonly #tail: Buffer;

  constructor(head: Buffer, o: Observation, tail: Buffer) {
    this.#head = head;
    this.#o = o;
    this.#tail = tail;
  }

  writeTo(out: ByteLines): void {
    const o = this.#o;
    out.bytes(this.#head);
    out.number(o.pid);
    out.bytes(CPU);
    out.number(o.cpu);
    out.bytes(RSS);
    out.number(o.rss);
    out.bytes(UPTIME);
    out.number(Math.floor(o.elapsedMs / 1000));
    out.bytes(this.#tail);
  }
}

const CPU = Buffer.from(',"cpu":');
const RSS = Buffer.from(',"memory":{"rss":');
const UPTIME = Buffer.from(',"heapUsed":0,"heapTotal":0,"external":0},"uptime":');

/** What every body of one server starts with. */
export function processInfoHead(serverId: string): Buffer {
  return Buffer.from(`{"serverId":${JSON.stringify(serverId)},"processInfo":{"pid":`);
}

/**
 * What every body of one tick ends with: the sample's time, then `timestamp` (an ISO time, like
 * toISOString()'s, which never needs escaping). Remembered for the last pair asked: a tick's samples share both.
 */
export function processInfoTail(sampledAt: number, timestamp: string): Buffer {
  if (sampledAt !== lastTail.at || timestamp !== lastTail.timestamp) {
    lastTail = { at: sampledAt, timestamp, bytes: Buffer.from(`,"timestamp":"${isoTime(sampledAt)}"},"timestamp":"${timestamp}"}`) };
  }
  return lastTail.bytes;
}
let lastTail = { at: Number.NaN, timestamp: '', bytes: Buffer.alloc(0) };
