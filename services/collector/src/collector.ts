// The collector agent as an object: createCollector(options) checks its options; start() creates
// every resource (Redis client, writer, sources, trackers, supervised children, log followers,
// timers) and stop() releases all of them, so start → stop → start works any number of times with
// nothing held across cycles. Ticks never overlap: each one is scheduled by setTimeout when the
// previous one is done. Every Redis write (ticks, status changes, log batches) goes through one
// serial writer.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import { InOrder, withTimeout } from '@vigil/protocol/runtime';
import { AlertStore, AlertWriter, BatchWriter, closeRedis, createRedis, type RedisTls } from '@vigil/store';
import type { AlertRule } from '@vigil/protocol';
import { AlertEvaluator } from './alerts/evaluator.js';
import { ruleTable } from './alerts/rule-table.js';
import {
  DEFAULT_HISTORY_MAX_LEN,
  DEFAULT_LOG_BUFFER_BYTES,
  DEFAULT_LOG_BUFFER_LINES,
  DEFAULT_LOG_HISTORY_MAX_LEN,
  DEFAULT_LOG_POLL_MS,
  DEFAULT_METRICS_HOST,
  checkSettings,
  defaultStateDir,
  invalid,
  type RedactConfig,
  type SelfConfig,
  type Target,
  type TargetConfig,
} from './config-schema.js';
import type { LogChannel } from './log-channel.js';
import type { LogCounters } from './log-shipper.js';
import { Logs } from './logs.js';
import { CollectorMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { Publisher, type Counters } from './publisher.js';
import { Redactor } from './redact.js';
import { DEFAULT_LOG_RATE_LIMIT, type RateLimit } from './rate-limit.js';
import { Sampler, type SampleFn } from './sampler.js';
import { Schedule } from './schedule.js';
import { SerialWriter } from './serial-writer.js';
import { createSource } from './sources.js';
import { Supervisor, describeExit } from './supervisor.js';
import { resolveTargets } from './targets.js';
import { TickRunner, type Watched } from './tick.js';
import { createTracker } from './trackers.js';
import { CommandTracker } from './tracker-command.js';

/** How long stop() waits for a tick in progress. */
const TICK_STOP_DEADLINE_MS = 3000;
/** /healthz fails when no tick has ended for 3 × the shortest interval plus this (a slow tick is not a dead loop). */
const HEALTH_SLACK_MS = 10_000;

export type CollectorOptions = {
  redisUrl: string;
  /** CA, client certificate and key for a rediss:// URL (readRedisTls of @vigil/store). Default: Node's built-in CAs. */
  redisTls?: RedisTls;
  collectorId: string;
  host: string;
  targets: readonly TargetConfig[];
  /** The agent watching itself as a server; off by default. */
  self?: SelfConfig | false;
  /** Bound of each server's metrics history stream. Default 720. */
  historyMaxLen?: number;
  /** Bound of each server's log stream. Default 10000. */
  logHistoryMaxLen?: number;
  /** Log lines held for Redis, for the whole collector. Default 50000. */
  logBufferLines?: number;
  /** The same bound in bytes of line bodies. Default 64 MiB. */
  logBufferBytes?: number;
  /** Rate limit of targets that set none. Default 1000 lines/s, burst 5000. */
  logRateLimit?: Partial<RateLimit>;
  /** Where log file positions are remembered. Default `${os.tmpdir()}/vigil-collector-<collectorId>`. */
  stateDir?: string;
  /** How often log files are polled. Default 250 ms. */
  logPollMs?: number;
  /** Secrets kept out of command lines and log lines (redact.ts). Default: URL credentials in log lines. */
  redact?: RedactConfig;
  /** Port of /metrics, /healthz and /readyz (0: any free port). Default: no HTTP endpoint. */
  metricsPort?: number;
  /** Address the metrics port binds to. Default 127.0.0.1. */
  metricsHost?: string;
  logger: Logger;
  /** Clock for timestamps and heartbeats (scheduling uses the monotonic clock). */
  now?: () => number;
  /** Batched sampler with pidusage's signature; default pidusage itself. */
  sample?: SampleFn;
  /** Alert rules of every target (a target's own rule with the same id replaces one). Default none. */
  alertDefaults?: AlertRule[];
};

export type CollectorStats = Counters &
  LogCounters & {
    eventsPending: number;
    /** Log lines waiting for Redis. */
    logLinesPending: number;
  };

export interface Collector {
  start(): Promise<void>;
  /** Idempotent; a later start() begins afresh. */
  stop(): Promise<void>;
  stats(): CollectorStats;
  /** Where /metrics is served while running, or null (no metrics port, or not running). */
  metricsAddress(): { host: string; port: number } | null;
}

/** Everything one start() owns. */
type Run = { stop(): Promise<void>; publisher: Publisher; logs: Logs; metricsServer: MetricsServer | null };

export function createCollector(options: CollectorOptions): Collector {
  const logRateLimit = { ...DEFAULT_LOG_RATE_LIMIT, ...options.logRateLimit };
  const targets = resolveTargets(options.targets, options.self ?? false, undefined, logRateLimit);
  if (targets.length === 0) throw invalid('targets: nothing to watch (no target and self is off)');
  checkSettings(options);
  const rules = ruleTable(targets, options.targets, options.alertDefaults ?? []);
  const redactor = Redactor.fromConfig(options.redact);
  const historyMaxLen = options.historyMaxLen ?? DEFAULT_HISTORY_MAX_LEN;
  const logHistoryMaxLen = options.logHistoryMaxLen ?? DEFAULT_LOG_HISTORY_MAX_LEN;
  const logBufferLines = options.logBufferLines ?? DEFAULT_LOG_BUFFER_LINES;
  const logBufferBytes = options.logBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES;
  const logPollMs = options.logPollMs ?? DEFAULT_LOG_POLL_MS;
  const stateDir = options.stateDir ?? defaultStateDir(options.collectorId);
  const counters: Counters & LogCounters = {
    ticks: 0,
    samplesWritten: 0,
    samplesDropped: 0,
    eventsDropped: 0,
    writeFailures: 0,
    logLinesRead: 0,
    logLinesWritten: 0,
    logLinesTruncated: 0,
    logLinesRateLimited: 0,
    logLinesDropped: 0,
  };
  const logger = options.logger;
  let run: Run | null = null;
  // start() and stop() wait for each other, so overlapping calls cannot leak a run.
  const transitions = new InOrder();
  const serially = (fn: () => Promise<void>) => transitions.run(fn);

  return {
    start: () =>
      serially(async () => {
        if (!run) run = await startRun();
      }),
    stop: () =>
      serially(async () => {
        const r = run;
        run = null;
        if (r) await r.stop();
      }),
    stats: () => ({ ...counters, eventsPending: run?.publisher.pendingEvents ?? 0, logLinesPending: run?.logs.pending ?? 0 }),
    metricsAddress: () => run?.metricsServer?.address ?? null,
  };

  async function startRun(): Promise<Run> {
    const o = options;
    const now = o.now ?? Date.now;
    const selfPid = process.pid;
    const uid = `vigil-collector:${o.collectorId}`;
    const redis = createRedis(o.redisUrl, 'command', {
      name: uid,
      tls: o.redisTls,
      // ioredis reports each failed reconnect; the publisher reports the outage once.
      onError: (err) => logger.debug({ err: err.message }, 'redis connection error'),
    });
    const isConnected = () => redis.status === 'ready';
    const writer = new SerialWriter(new BatchWriter(redis));
    const alerts = rules.empty
      ? null
      : new AlertEvaluator({
          host: o.host,
          rulesOf: rules.rulesOf,
          owns: rules.owns,
          sink: { write: (changes) => alertWriter.write(changes), firing: (filter) => alertStore.firing(filter) },
          logger,
          now,
        });
    const alertWriter = new AlertWriter(redis, uid);
    const alertStore = new AlertStore(redis, { onCorrupt: (what) => logger.warn({ code: ErrorCodes.REDIS_CORRUPT, what }, 'skipped a malformed alert in redis') });
    const publisher = new Publisher({ writer, isConnected, collectorId: o.collectorId, host: o.host, historyMaxLen, logger, counters, alerts });
    const logs = new Logs({
      targets,
      writer,
      isConnected,
      uid,
      maxLen: logHistoryMaxLen,
      bufferLines: logBufferLines,
      bufferBytes: logBufferBytes,
      stateDir,
      pollMs: logPollMs,
      logger,
      counters,
      redactor,
      onLine: (serverId) => (rules.hasLogRules(serverId) ? (level, message, at) => alerts!.onLine(serverId, level, message, at) : undefined),
    });
    redis.on('ready', () => logs.wake());
    const longest = Math.max(...targets.map((t) => t.intervalMs));
    const shortest = Math.min(...targets.map((t) => t.intervalMs));
    const metrics =
      o.metricsPort === undefined
        ? null
        : new CollectorMetrics({
            collectorId: o.collectorId,
            host: o.host,
            counters,
            logBuffer: () => ({ lines: logs.pending, bytes: logs.pendingBytes }),
            eventsPending: () => publisher.pendingEvents,
            redisConnected: isConnected,
          });
    const runner = new TickRunner({
      sampler: new Sampler({ sample: o.sample, now, maxAgeMs: 3 * longest, selfPid }),
      publisher,
      logger,
      counters,
      selfPid,
      now,
      redactor,
      metrics,
    });
    const supervisors: Supervisor[] = [];
    const watched: Watched[] = targets.map((target) => {
      if (target.kind !== 'command') return { target, source: createSource(target, { logger, selfPid }), tracker: createTracker(target) };
      const tracker = new CommandTracker(target, redactor.argv(target.argv));
      const supervisor = supervise(target, tracker, logs.channel(target.id)!, publisher, now);
      supervisors.push(supervisor);
      return { target, source: createSource(target, { logger, selfPid, supervisor }), tracker };
    });
    const schedule = new Schedule(watched.map((w) => ({ w, intervalMs: w.target.intervalMs })), performance.now());
    let timer: NodeJS.Timeout | null = null;
    let current: Promise<void> | null = null;
    let stopped = false;
    let lastTickAt = performance.now();

    const arm = () => {
      if (stopped) return;
      const at = schedule.nextAt();
      if (at === null) return;
      timer = setTimeout(onTimer, Math.max(0, at - performance.now()));
    };
    const onTimer = () => {
      timer = null;
      const began = performance.now();
      const due = schedule.due(began);
      current = runner
        .run(due.map((d) => d.w))
        .catch((err: Error) => logger.error({ code: ErrorCodes.INTERNAL, err: err.message, stack: err.stack }, 'tick failed'))
        .finally(() => {
          current = null;
          lastTickAt = performance.now();
          metrics?.tickDone((lastTickAt - began) / 1000);
          schedule.advance(due, performance.now());
          arm();
        });
    };

    try {
      await logs.start();
    } catch (err) {
      await closeRedis(redis);
      throw err;
    }
    let metricsServer: MetricsServer | null = null;
    if (metrics) {
      const health = { lastTickAt: () => lastTickAt, staleAfterMs: 3 * shortest + HEALTH_SLACK_MS, redisConnected: isConnected };
      try {
        metricsServer = await startMetricsServer({ host: o.metricsHost ?? DEFAULT_METRICS_HOST, port: o.metricsPort!, metrics, health });
      } catch (err) {
        await logs.close();
        await closeRedis(redis);
        throw err;
      }
      logger.info({ metrics: `http://${metricsServer.address.host}:${metricsServer.address.port}/metrics` }, 'metrics served');
    }
    // What fired before this start is taken over, not raised again (alerts/evaluator.ts).
    await alerts?.load();
    for (const s of supervisors) s.start();
    logger.info({ targets: targets.map((t) => `${t.kind}:${t.id}`) }, 'collector started');
    arm();
    return {
      publisher,
      logs,
      metricsServer,
      async stop() {
        stopped = true;
        await metricsServer?.close();
        if (timer) clearTimeout(timer);
        timer = null;
        // Every step of a tick has a deadline (sources, writes); this one guards against a bug.
        if (current) {
          await withTimeout(current, TICK_STOP_DEADLINE_MS, 'end of the tick').catch((err: Error) =>
            logger.error({ code: ErrorCodes.STOP_TIMEOUT, err: err.message }, 'stopping without waiting for the tick'),
          );
        }
        // Children first: their last lines and their exits are still written below.
        await Promise.all(supervisors.map((s) => s.stop()));
        await logs.close();
        await publisher.settled();
        publisher.discardPending();
        await alerts?.settled();
        await closeRedis(redis);
        logger.info('collector stopped');
      },
    };
  }

  function internalError(err: Error): void {
    logger.error({ code: ErrorCodes.INTERNAL, err: err.message, stack: err.stack }, 'status publish failed');
  }

  /** A command target's supervisor: its output goes to the target's log channel, its starts and exits to the status stream. */
  function supervise(target: Target & { kind: 'command' }, tracker: CommandTracker, channel: LogChannel, publisher: Publisher, now: () => number): Supervisor {
    return new Supervisor(target, {
      stdout: channel.sink('stdout'),
      stderr: channel.sink('stderr'),
      logger,
      now,
      started: (pid, at) => {
        logger.info({ targetId: target.id, pid }, 'supervised command started');
        publisher.publish([tracker.started(pid, at)], at).catch(internalError);
      },
      exited: (exit) => {
        const what = describeExit(exit);
        const level = exit.next.kind === 'gave-up' ? 'error' : exit.next.kind === 'restart' ? 'warn' : 'info';
        channel.notice(level, `vigil: ${what}`, { pid: exit.pid, exitCode: exit.exitCode, signal: exit.signal });
        const fields = { targetId: target.id, pid: exit.pid, exitCode: exit.exitCode, signal: exit.signal };
        if (exit.next.kind === 'gave-up') logger.warn({ ...fields, code: ErrorCodes.COMMAND_FAILED }, `supervised command ${target.id}: ${what}`);
        else logger.info(fields, `supervised command ${target.id}: ${what}`);
        publisher.publish([tracker.exited(exit, what)], exit.at).catch(internalError);
      },
    });
  }
}
