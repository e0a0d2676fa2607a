// The collector agent as an object: createCollector(options) checks its options; start() creates
// every resource (Redis client, writer, sources, trackers, timer) and stop() releases all of them,
// so start → stop → start works any number of times with nothing held across cycles.
// Ticks never overlap: each one is scheduled by setTimeout when the previous one is done.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import { TickWriter, closeRedis, createRedis } from '@vigil/store';
import { DEFAULT_HISTORY_MAX_LEN, checkRedisUrl, invalid, resolveTargets, type SelfConfig, type TargetConfig } from './config.js';
import { Publisher, type Counters } from './publisher.js';
import { Sampler, type SampleFn } from './sampler.js';
import { Schedule } from './schedule.js';
import { createSource } from './source.js';
import { TickRunner, type Watched } from './tick.js';
import { createTracker } from './tracker.js';

export type CollectorOptions = {
  redisUrl: string;
  collectorId: string;
  host: string;
  targets: readonly TargetConfig[];
  /** The agent watching itself as a server; off by default. */
  self?: SelfConfig | false;
  /** Bound of each server's metrics history stream. Default 720. */
  historyMaxLen?: number;
  logger: Logger;
  /** Clock for timestamps and heartbeats (scheduling uses the monotonic clock). */
  now?: () => number;
  /** Batched sampler with pidusage's signature; default pidusage itself. */
  sample?: SampleFn;
};

export type CollectorStats = {
  ticks: number;
  samplesWritten: number;
  samplesDropped: number;
  eventsPending: number;
  eventsDropped: number;
  writeFailures: number;
};

export interface Collector {
  start(): Promise<void>;
  /** Idempotent; a later start() begins afresh. */
  stop(): Promise<void>;
  stats(): CollectorStats;
}

/** Everything one start() owns. */
type Run = { stop(): Promise<void>; publisher: Publisher };

export function createCollector(options: CollectorOptions): Collector {
  const targets = resolveTargets(options.targets, options.self ?? false);
  if (targets.length === 0) throw invalid('targets: nothing to watch (no target and self is off)');
  checkRedisUrl(options.redisUrl);
  const historyMaxLen = options.historyMaxLen ?? DEFAULT_HISTORY_MAX_LEN;
  if (!Number.isInteger(historyMaxLen) || historyMaxLen < 1) throw invalid('historyMaxLen: must be a positive integer');
  const counters: Counters = { ticks: 0, samplesWritten: 0, samplesDropped: 0, eventsDropped: 0, writeFailures: 0 };
  const logger = options.logger;
  let run: Run | null = null;
  // start() and stop() wait for each other, so overlapping calls cannot leak a run.
  let transition: Promise<void> = Promise.resolve();
  const serially = (fn: () => Promise<void>) => {
    const next = transition.then(fn);
    transition = next.catch(() => undefined);
    return next;
  };

  return {
    start: () =>
      serially(async () => {
        if (!run) run = startRun();
      }),
    stop: () =>
      serially(async () => {
        const r = run;
        run = null;
        if (r) await r.stop();
      }),
    stats: () => ({ ...counters, eventsPending: run?.publisher.pendingEvents ?? 0 }),
  };

  function startRun(): Run {
    const o = options;
    const now = o.now ?? Date.now;
    const selfPid = process.pid;
    const redis = createRedis(o.redisUrl, 'command', {
      name: `vigil-collector:${o.collectorId}`,
      // ioredis reports each failed reconnect; the publisher reports the outage once.
      onError: (err) => logger.debug({ err: err.message }, 'redis connection error'),
    });
    const publisher = new Publisher({
      writer: new TickWriter(redis),
      isConnected: () => redis.status === 'ready',
      collectorId: o.collectorId,
      host: o.host,
      historyMaxLen,
      logger,
      counters,
    });
    const longest = Math.max(...targets.map((t) => t.intervalMs));
    const runner = new TickRunner({
      sampler: new Sampler({ sample: o.sample, now, maxAgeMs: 3 * longest, selfPid }),
      publisher,
      logger,
      counters,
      selfPid,
      now,
    });
    const watched: Watched[] = targets.map((target) => ({
      target,
      source: createSource(target, { logger, selfPid }),
      tracker: createTracker(target),
    }));
    const schedule = new Schedule(watched.map((w) => ({ w, intervalMs: w.target.intervalMs })), performance.now());
    let timer: NodeJS.Timeout | null = null;
    let current: Promise<void> | null = null;
    let stopped = false;

    const arm = () => {
      if (stopped) return;
      const at = schedule.nextAt();
      if (at === null) return;
      timer = setTimeout(onTimer, Math.max(0, at - performance.now()));
    };
    const onTimer = () => {
      timer = null;
      const due = schedule.due(performance.now());
      current = runner
        .run(due.map((d) => d.w))
        .catch((err: Error) => logger.error({ code: ErrorCodes.INTERNAL, err: err.message, stack: err.stack }, 'tick failed'))
        .finally(() => {
          current = null;
          schedule.advance(due, performance.now());
          arm();
        });
    };

    logger.info({ targets: targets.map((t) => `${t.kind}:${t.id}`) }, 'collector started');
    arm();
    return {
      publisher,
      async stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        timer = null;
        // A write in flight is bounded by the client's command timeout.
        if (current) await current;
        publisher.discardPending();
        await closeRedis(redis);
        logger.info('collector stopped');
      },
    };
  }
}
