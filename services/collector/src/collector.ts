// The collector agent as an object: createCollector(options) checks its options; start() creates
// every resource (Redis client, writer, sources, trackers, supervised children, log followers,
// timers) and stop() releases all of them, so start → stop → start works any number of times with
// nothing held across cycles. Ticks never overlap: each one is scheduled by setTimeout when the
// previous one is done. Every Redis write (ticks, status changes, log batches) goes through one
// serial writer.
import type { Logger } from 'pino';
import { DEFAULT_HOST_INTERVAL_MS, ErrorCodes, HOST_ID_PATTERN, STOP_STATUS_DEADLINE_MS } from '@vigil/protocol';
import { InOrder, withTimeout } from '@vigil/protocol/runtime';
import { AlertStore, AlertWriter, BatchWriter, HostWriter, InterestStore, closeRedis, createRedis, type RedisTls } from '@vigil/store';
import type { AlertRule } from '@vigil/protocol';
import { AlertEvaluator } from './alerts/evaluator.js';
import { ruleTable } from './alerts/rule-table.js';
import {
  DEFAULT_HISTORY_MAX_LEN,
  DEFAULT_LOG_BUFFER_BYTES,
  DEFAULT_LOG_BUFFER_LINES,
  DEFAULT_LOG_HISTORY_MAX_LEN,
  DEFAULT_LOG_POLL_MS,
  DEFAULT_EXCLUDED_INTERFACES,
  DEFAULT_HOST_MOUNTS,
  DEFAULT_METRICS_HOST,
  checkSettings,
  defaultStateDir,
  invalid,
  type HostMetricsConfig,
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
import { InterestReader } from './interest-reader.js';
import { CommandTracker } from './tracker-command.js';
import { HostSampler } from './host-sampler.js';
import { HostMetricsLoop, type HostCounters } from './host-metrics.js';

/** How long stop() waits for a tick in progress. */
const TICK_STOP_DEADLINE_MS = 3000;
/** /healthz fails when no tick has ended for 3 × the shortest interval plus this (a slow tick is not a dead loop). */
const HEALTH_SLACK_MS = 10_000;

export type CollectorOptions = {
  redisUrl: string;
  /** CA, client certificate and key for a rediss:// URL (readRedisTls of @vigil/store). Default: Node's built-in CAs. */
  redisTls?: RedisTls;
  /** A Redis Cluster's seed nodes (`host:port,…`); `redisUrl` then gives only credentials and scheme. */
  redisClusterNodes?: string;
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
  /** Sampling of the host itself (CPU, load, memory, network, mounts). Default on, every 5 s, mount "/". */
  hostMetrics?: HostMetricsConfig;
  logger: Logger;
  /** Clock for timestamps and heartbeats (scheduling uses the monotonic clock). */
  now?: () => number;
  /** Batched sampler with pidusage's signature; default pidusage itself. */
  sample?: SampleFn;
  /** Alert rules of every target (a target's own rule with the same id replaces one). Default none. */
  alertDefaults?: AlertRule[];
};

export type CollectorStats = Counters &
  LogCounters &
  HostCounters & {
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
  const hostCounters: HostCounters = { hostSamplesWritten: 0, hostSamplesDropped: 0 };
  const hostMetrics = resolveHostMetrics(options);
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
    stats: () => ({ ...counters, ...hostCounters, eventsPending: run?.publisher.pendingEvents ?? 0, logLinesPending: run?.logs.pending ?? 0 }),
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
      clusterNodes: o.redisClusterNodes,
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
    const minIntervals = new Map(targets.map((t) => [t.id, t.minIntervalMs]));
    const publisher = new Publisher({
      writer,
      isConnected,
      collectorId: o.collectorId,
      host: o.host,
      historyMaxLen,
      logger,
      counters,
      alerts,
      minIntervalOf: (targetId) => minIntervals.get(targetId),
    });
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
    const items = watched.map((w) => ({ w, intervalMs: w.target.intervalMs }));
    const schedule = new Schedule(items, performance.now());
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

    // Viewers' wanted intervals move each target's own schedule; a sooner due time re-arms the timer
    // (a tick under way arms it when it ends).
    const interest = new InterestReader({
      store: new InterestStore(redis),
      collectorId: o.collectorId,
      targets,
      isConnected,
      logger,
      apply: (intervals) => {
        const at = performance.now();
        let moved = false;
        for (const item of items) {
          const ms = intervals.get(item.w.target)!;
          const was = schedule.intervalOf(item);
          if (ms === was) continue;
          logger.info({ targetId: item.w.target.id, from: was, to: ms }, 'sampling interval changed');
          if (schedule.setInterval(item, ms, at)) moved = true;
        }
        if (moved && timer) {
          clearTimeout(timer);
          timer = null;
          arm();
        }
      },
    });

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
    const hostLoop = hostMetrics
      ? new HostMetricsLoop({
          host: o.host,
          collectorId: o.collectorId,
          intervalMs: hostMetrics.intervalMs,
          sampler: new HostSampler(hostMetrics),
          writer: new HostWriter(redis, { uid, maxLen: historyMaxLen }),
          isConnected,
          logger,
          now,
          counters: hostCounters,
        })
      : null;
    redis.on('ready', () => hostLoop?.wake());
    hostLoop?.start();
    logger.info({ targets: targets.map((t) => `${t.kind}:${t.id}`) }, 'collector started');
    arm();
    interest.start();
    return {
      publisher,
      logs,
      metricsServer,
      async stop() {
        stopped = true;
        await interest.stop();
        await metricsServer?.close();
        if (timer) clearTimeout(timer);
        timer = null;
        // Every step of a tick has a deadline (sources, writes); this one guards against a bug.
        if (current) {
          await withTimeout(current, TICK_STOP_DEADLINE_MS, 'end of the tick').catch((err: Error) =>
            logger.error({ code: ErrorCodes.STOP_TIMEOUT, err: err.message }, 'stopping without waiting for the tick'),
          );
        }
        await hostLoop?.stop();
        // Children first: their last lines and their exits are still written below.
        await Promise.all(supervisors.map((s) => s.stop()));
        await logs.close();
        await publisher.settled();
        await sayStopped(publisher, isConnected, now());
        publisher.discardPending();
        await alerts?.settled();
        await closeRedis(redis);
        logger.info('collector stopped');
      },
    };
  }

  /**
   * Marks every server `stopped` so gateways stop waiting for it (and the retention can remove it).
   * Skipped when Redis is known to be away; otherwise bounded by STOP_STATUS_DEADLINE_MS.
   */
  async function sayStopped(publisher: Publisher, isConnected: () => boolean, at: number): Promise<void> {
    if (!isConnected()) {
      logger.warn({ code: ErrorCodes.REDIS_WRITE_FAILED }, 'redis is away: servers not marked stopped (they will turn stale)');
      return;
    }
    // Redis may go only now, before the connection notices: the write then fails (and is logged as
    // a failed write); say what that means for the servers too.
    const written = await withTimeout(publisher.publishStopped(at), STOP_STATUS_DEADLINE_MS, 'the stopped status').catch((err: Error) => {
      logger.warn({ code: ErrorCodes.STOP_TIMEOUT, err: err.message }, 'servers not marked stopped in time');
      return true;
    });
    if (!written) logger.warn({ code: ErrorCodes.REDIS_WRITE_FAILED }, 'redis write failed: servers not marked stopped (they will turn stale)');
  }

  /** Host sampling as configured, or null when off. A host name that cannot name a room turns the default off, and an explicit `enabled: true` into an error. */
  function resolveHostMetrics(o: CollectorOptions): { intervalMs: number; mounts: readonly string[]; excludeInterfaces: readonly string[] } | null {
    const c = o.hostMetrics ?? {};
    if (c.enabled === false) return null;
    if (!new RegExp(HOST_ID_PATTERN).test(o.host)) {
      const why = `host: "${o.host.slice(0, 80)}" cannot name a host metrics room (letters, digits, . _ : - only)`;
      if (c.enabled === true) throw invalid(`${why}; set hostMetrics.enabled to false or choose another host`);
      o.logger.warn({ code: ErrorCodes.CONFIG_INVALID, host: o.host.slice(0, 80) }, `${why}: host metrics are off`);
      return null;
    }
    return {
      intervalMs: c.intervalMs ?? DEFAULT_HOST_INTERVAL_MS,
      mounts: c.mounts ?? DEFAULT_HOST_MOUNTS,
      excludeInterfaces: c.excludeInterfaces ?? DEFAULT_EXCLUDED_INTERFACES,
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
