// The collector's host loop: every `intervalMs`, one host sample (host-sampler.ts) written to
// Redis (HostWriter: history, latest, broadcast to `system-metrics-<host>`, host registry).
// Samples never queue: while Redis is away, or a write is slow, a sample is dropped and counted.
// start() and stop() bracket everything it owns (timer, /proc descriptors).
import type { Logger } from 'pino';
import { ErrorCodes, type SystemMetricsBody } from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';
import type { HostSampler } from './host-sampler.js';

/** Least time a host sample's write is given before it counts as dropped. */
const WRITE_DEADLINE_MS = 5000;

export type HostCounters = { hostSamplesWritten: number; hostSamplesDropped: number };

export type HostMetricsLoopOptions = {
  host: string;
  collectorId: string;
  intervalMs: number;
  sampler: HostSampler;
  writer: { write(body: SystemMetricsBody, at: number): Promise<string> };
  isConnected: () => boolean;
  logger: Logger;
  now: () => number;
  counters: HostCounters;
};

export class HostMetricsLoop {
  readonly #o: HostMetricsLoopOptions;
  #timer: NodeJS.Timeout | null = null;
  #current: Promise<void> | null = null;
  #stopped = true;
  /** Logged once per failure streak, not once per sample. */
  #failing = false;
  /** The last sample was dropped because Redis was not connected: wake() takes one at once. */
  #missed = false;

  constructor(options: HostMetricsLoopOptions) {
    this.#o = options;
  }

  /** Takes the first sample at once, so a host has a latest value as soon as its collector runs. */
  start(): void {
    this.#stopped = false;
    this.#run();
  }

  /** Redis is (back) up: if the last sample was dropped for want of it, sample now instead of at the next interval. */
  wake(): void {
    if (this.#stopped || !this.#missed || this.#current) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#current;
    this.#o.sampler.close();
  }

  #run(): void {
    const began = performance.now();
    this.#current = this.#once().finally(() => {
      this.#current = null;
      if (this.#stopped) return;
      const wait = Math.max(0, this.#o.intervalMs - (performance.now() - began));
      this.#timer = setTimeout(() => this.#run(), wait);
    });
  }

  async #once(): Promise<void> {
    const o = this.#o;
    const at = o.now();
    try {
      const data = await o.sampler.sample(at);
      this.#missed = !o.isConnected();
      if (this.#missed) {
        o.counters.hostSamplesDropped++;
        return;
      }
      // A write that hangs must not hold the loop for longer than a sample is worth.
      const body = { host: o.host, collectorId: o.collectorId, data, timestamp: data.timestamp };
      await withTimeout(o.writer.write(body, at), Math.max(WRITE_DEADLINE_MS, o.intervalMs), 'host sample write');
      o.counters.hostSamplesWritten++;
      if (this.#failing) o.logger.info({ host: o.host }, 'host samples are written again');
      this.#failing = false;
    } catch (err) {
      o.counters.hostSamplesDropped++;
      if (!this.#failing) {
        const code = (err as { code?: string }).code === ErrorCodes.REDIS_WRITE_FAILED ? ErrorCodes.REDIS_WRITE_FAILED : ErrorCodes.SAMPLE_FAILED;
        o.logger.warn({ code, host: o.host, err: (err as Error).message }, 'host sample dropped');
      }
      this.#failing = true;
    }
  }
}
