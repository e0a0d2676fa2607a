// Prometheus metrics of one collector run, in a Registry of its own (created by start(), dropped
// by stop(): nothing process-global, so start → stop → start and several collectors in one
// process work). Two kinds of series:
// - the collector's health, read from its counters at scrape time (vigil_collector_*);
// - the processes it watches (vigil_process_*), one series set per server id, replaced as a whole
//   after every tick. Server ids are bounded by the targets (a match target has at most
//   maxInstances slots), so the cardinality is at most Σ(1 or maxInstances) × 5 series.
// Every series carries `collector` and `host` (default labels); process series add `server`.
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LogCounters } from './log-shipper.js';
import { agentStartSeconds } from './proc.js';
import type { Counters } from './publisher.js';
import type { ServerReport } from './server-state.js';

/** The collector's package version (src/ and dist/ are both one level below package.json). */
export const COLLECTOR_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export type MetricsSources = {
  collectorId: string;
  host: string;
  counters: Readonly<Counters & LogCounters>;
  /** Log lines and bytes waiting for Redis. */
  logBuffer: () => { lines: number; bytes: number };
  eventsPending: () => number;
  redisConnected: () => boolean;
};

/** What the last tick saw of one server. */
type ProcessState = { up: boolean; restarts: number; cpuSeconds?: number; rssBytes?: number; startTimeSeconds?: number };

/** Buckets for a tick: sampling a few pids takes ~1 ms; a slow /proc or Redis write, much more. */
const TICK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly #tickDuration: Histogram;
  readonly #processes = new Map<string, ProcessState>();

  constructor(s: MetricsSources) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ collector: s.collectorId, host: s.host });
    new Gauge({
      name: 'vigil_build_info',
      help: 'Always 1; the labels say which vigil version runs on which Node.js',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: COLLECTOR_VERSION, node: process.version }, 1);

    const c = s.counters;
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    counter('vigil_collector_ticks_total', 'Sampling ticks run', () => c.ticks);
    counter('vigil_collector_samples_written_total', 'Process samples written to Redis', () => c.samplesWritten);
    counter('vigil_collector_samples_dropped_total', 'Process samples dropped because their write failed', () => c.samplesDropped);
    counter('vigil_collector_events_dropped_total', 'Status events dropped because the pending queue was full', () => c.eventsDropped);
    counter('vigil_collector_redis_write_failures_total', 'Redis writes (ticks and log batches) that failed', () => c.writeFailures);
    counter('vigil_collector_log_lines_read_total', 'Log lines read from files and supervised output', () => c.logLinesRead);
    counter('vigil_collector_log_lines_written_total', 'Log lines written to Redis', () => c.logLinesWritten);
    counter('vigil_collector_log_lines_truncated_total', 'Log lines cut to the line length limit', () => c.logLinesTruncated);
    counter('vigil_collector_log_lines_rate_limited_total', 'Log lines dropped by a target rate limit', () => c.logLinesRateLimited);
    counter('vigil_collector_log_lines_dropped_total', 'Log lines lost (buffer full while Redis was away, or unwritten at stop)', () => c.logLinesDropped);
    gauge('vigil_collector_log_buffer_lines', 'Log lines waiting for Redis', () => s.logBuffer().lines);
    gauge('vigil_collector_log_buffer_bytes', 'Bytes of log lines waiting for Redis', () => s.logBuffer().bytes);
    gauge('vigil_collector_events_pending', 'Status events waiting for Redis', s.eventsPending);
    gauge('vigil_collector_redis_connected', '1 while the Redis connection is ready, else 0', () => (s.redisConnected() ? 1 : 0));
    this.#tickDuration = new Histogram({
      name: 'vigil_collector_tick_duration_seconds',
      help: 'Time of one tick: resolve targets, sample, write to Redis',
      buckets: TICK_BUCKETS,
      registers,
    });

    const processes = this.#processes;
    /** A process metric's collect(): rebuilt from the last tick, so a server that is gone leaves no series. */
    const fill = (metric: { reset(): void }, read: (p: ProcessState) => number | undefined, put: (server: string, v: number) => void) => {
      metric.reset();
      for (const [server, p] of processes) {
        const v = read(p);
        if (v !== undefined) put(server, v);
      }
    };
    const labelNames = ['server'] as const;
    const processCounter = (name: string, help: string, read: (p: ProcessState) => number | undefined) =>
      new Counter({ name, help, labelNames, registers, collect() { fill(this, read, (server, v) => this.inc({ server }, v)); } });
    const processGauge = (name: string, help: string, read: (p: ProcessState) => number | undefined) =>
      new Gauge({ name, help, labelNames, registers, collect() { fill(this, read, (server, v) => this.set({ server }, v)); } });
    processCounter('vigil_process_cpu_seconds_total', 'CPU time (user + system) of the watched process since it started', (p) => p.cpuSeconds);
    processGauge('vigil_process_resident_memory_bytes', 'Resident set size of the watched process', (p) => p.rssBytes);
    processGauge('vigil_process_start_time_seconds', 'Start time of the watched process, seconds since the Unix epoch', (p) => p.startTimeSeconds);
    processCounter('vigil_process_restarts_total', 'Times the server was seen as a new process (restarted) since the collector started', (p) => p.restarts);
    processGauge('vigil_process_up', '1 while the server has a live process, else 0', (p) => (p.up ? 1 : 0));
  }

  tickDone(seconds: number): void {
    this.#tickDuration.observe(seconds);
  }

  /** What a tick found: each reported server's process, or none. */
  observe(reports: readonly ServerReport[]): void {
    // A sample's startKey is exact relative to the agent's start (sampler.ts), while its startedAt
    // mixes the wall clock with /proc/uptime, which drift apart by up to seconds.
    const agentStart = agentStartSeconds();
    for (const { server, sample } of reports) {
      const previous = this.#processes.get(server.serverId);
      if (sample) {
        // Updated in place: this runs for every server on every tick.
        const p = previous ?? { up: true, restarts: 0 };
        p.up = true;
        p.restarts = server.restarts;
        p.rssBytes = sample.rss;
        p.startTimeSeconds = agentStart === null ? sample.startedAt / 1000 : Math.round((agentStart + sample.startKey / 1000) * 100) / 100;
        p.cpuSeconds = sample.cpuTimeMs === undefined ? undefined : sample.cpuTimeMs / 1000;
        if (!previous) this.#processes.set(server.serverId, p);
      } else if (server.process === null || !previous) {
        // Gone (or not found yet): up 0; its last CPU, memory and start time would only mislead.
        this.#processes.set(server.serverId, { up: false, restarts: server.restarts });
      } else {
        previous.restarts = server.restarts;
      }
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
