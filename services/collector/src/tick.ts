// One tick: resolve the due targets' candidate pids, sample all of them in one call, let each
// tracker say which process is which server, read command lines of new processes, and hand
// everything to the publisher for one write.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import type { Target } from './config-schema.js';
import { readCmdline, scanProcesses, type ProcessEntry } from './proc.js';
import type { Counters, Publisher } from './publisher.js';
import type { Observation, Sampler } from './sampler.js';
import type { Redactor } from './redact.js';
import type { ServerReport } from './server-state.js';
import type { Resolution, Source, TickContext } from './source.js';
import type { Tracker } from './tracker.js';

export type Watched = { target: Target; source: Source; tracker: Tracker };

export type TickRunnerOptions = {
  sampler: Sampler;
  publisher: Publisher;
  logger: Logger;
  counters: Counters;
  selfPid: number;
  /** Command lines leave the host redacted. */
  redactor: Redactor;
  now: () => number;
  /** Told what each tick found (the Prometheus process series); null when metrics are off. */
  metrics?: { observe(reports: readonly ServerReport[]): void } | null;
};

function sourceFailed(err: unknown): Resolution {
  return { pids: [], unresolved: `source failed: ${(err as Error).message}` };
}

/** Each target's resolution, in order; only the sources that answer with a promise are waited for. */
async function resolveAll(due: readonly Watched[], ctx: TickContext): Promise<Resolution[]> {
  const out = new Array<Resolution>(due.length);
  const waiting: Array<Promise<void>> = [];
  for (let i = 0; i < due.length; i++) {
    let r: Resolution | Promise<Resolution>;
    try {
      r = due[i]!.source.resolve(ctx);
    } catch (err) {
      r = sourceFailed(err);
    }
    if (r instanceof Promise) {
      waiting.push(
        r.then(
          (v) => void (out[i] = v),
          (err: unknown) => void (out[i] = sourceFailed(err)),
        ),
      );
    } else {
      out[i] = r;
    }
  }
  if (waiting.length > 0) await Promise.all(waiting);
  return out;
}

export class TickRunner {
  readonly #o: TickRunnerOptions;
  #sampleFailing = false;
  /** Live matches beyond maxInstances, per target, as last logged. */
  readonly #extra = new Map<string, number>();

  constructor(options: TickRunnerOptions) {
    this.#o = options;
  }

  async run(due: readonly Watched[]): Promise<void> {
    const { logger, counters } = this.#o;
    counters.ticks++;
    let scan: Promise<ProcessEntry[]> | null = null;
    const ctx = { processes: () => (scan ??= scanProcesses(this.#o.selfPid)) };
    const resolutions = await resolveAll(due, ctx);
    const pids: number[] = [];
    for (const r of resolutions) for (const pid of r.pids) pids.push(pid);

    let seen: Map<number, Observation>;
    try {
      seen = await this.#o.sampler.sample(pids);
    } catch (err) {
      // Nothing is written: with no heartbeat, gateways will report the servers stale, which is the truth.
      if (!this.#sampleFailing) logger.error({ code: ErrorCodes.SAMPLE_FAILED, err: (err as Error).message }, 'sampling failed');
      this.#sampleFailing = true;
      return;
    }
    if (this.#sampleFailing) logger.info('sampling works again');
    this.#sampleFailing = false;

    const reports: ServerReport[] = [];
    for (let i = 0; i < due.length; i++) {
      const w = due[i]!;
      const { reports: r, extra } = w.tracker.observe(resolutions[i]!, seen);
      for (const report of r) reports.push(report);
      this.#noteExtra(w.target.id, extra);
    }
    this.#o.metrics?.observe(reports);
    await this.#readCommands(reports, scan);
    await this.#o.publisher.publish(reports, this.#o.now());
  }

  #noteExtra(targetId: string, extra: number): void {
    if ((this.#extra.get(targetId) ?? 0) === extra) return;
    this.#extra.set(targetId, extra);
    if (extra > 0) this.#o.logger.warn({ targetId, extra }, 'more matching processes than maxInstances: not reported');
    else this.#o.logger.info({ targetId }, 'every matching process is reported again');
  }

  /** The registry's `command`, read once per process identity. */
  async #readCommands(reports: readonly ServerReport[], scan: Promise<ProcessEntry[]> | null): Promise<void> {
    const todo = reports.filter((r) => r.server.process && r.server.commandKey !== r.server.process.key);
    if (todo.length === 0) return;
    const scanned = scan ? new Map((await scan).map((p) => [p.pid, p.cmdline])) : null;
    await Promise.all(
      todo.map(async ({ server }) => {
        const o = server.process!;
        const cmdline = scanned?.get(o.pid) ?? (await readCmdline(o.pid));
        if (cmdline === null) return;
        server.command = this.#o.redactor.commandLine(cmdline);
        server.commandKey = o.key;
      }),
    );
  }
}
