// Benchmark sizes from flags (`--sizes=100,1000`) or the environment (`VIGIL_BENCH_SIZES=100,1000`);
// flags win. Every size has a default that fits a 2-core machine in about three minutes per benchmark.
import { parseArgs } from 'node:util';
import type { SamplingOptions } from '../collector-sampling.js';
import type { FanoutOptions, Stack } from '../fanout.js';
import type { IntervalOptions } from '../collector-interval.js';
import { REDIS_KINDS, type CapacityOptions, type RedisKind } from '../capacity.js';

/** The fan-out stacks: vigil over Socket.IO, the bare Socket.IO baseline, vigil over its plain WebSocket `/ws`. */
export const STACKS = ['vigil', 'baseline', 'ws'] as const;

const OPTIONS = {
  only: { type: 'string' },
  // sampling
  sizes: { type: 'string' },
  interval: { type: 'string' },
  ticks: { type: 'string' },
  'warmup-ticks': { type: 'string' },
  'per-pid-ticks': { type: 'string' },
  repeats: { type: 'string' },
  // fan-out
  clients: { type: 'string' },
  servers: { type: 'string' },
  gateways: { type: 'string' },
  'client-procs': { type: 'string' },
  collectors: { type: 'string' },
  rates: { type: 'string' },
  warmup: { type: 'string' },
  window: { type: 'string' },
  'p99-limit': { type: 'string' },
  'stop-p99': { type: 'string' },
  'retry-above': { type: 'string' },
  'quiet-budget': { type: 'string' },
  stacks: { type: 'string' },
  // redis memory (bench/redis-memory.ts)
  'memory-servers': { type: 'string' },
  'memory-seconds': { type: 'string' },
  // collector interval
  'interval-targets': { type: 'string' },
  'interval-configured': { type: 'string' },
  'interval-fast': { type: 'string' },
  'interval-warmup': { type: 'string' },
  'interval-window': { type: 'string' },
  'interval-repeats': { type: 'string' },
  // capacity (bench/capacity.ts)
  'capacity-servers': { type: 'string' },
  'capacity-collectors': { type: 'string' },
  'capacity-clients': { type: 'string' },
  'capacity-gateways': { type: 'string' },
  'capacity-interval': { type: 'string' },
  'capacity-metrics-per-client': { type: 'string' },
  'capacity-whole-fleet': { type: 'string' },
  'capacity-collector-procs': { type: 'string' },
  'capacity-client-procs': { type: 'string' },
  'capacity-warmup': { type: 'string' },
  'capacity-window': { type: 'string' },
  'capacity-redis': { type: 'string' },
  // run
  'no-write': { type: 'boolean' },
  'render-only': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parse>;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
}

function raw(values: Values, name: keyof typeof OPTIONS): string | undefined {
  const v = values[name];
  if (typeof v === 'string') return v;
  const env = process.env[`VIGIL_BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  return env === undefined || env === '' ? undefined : env;
}

/** Counts must be whole numbers; rates and durations need not be. */
const WHOLE = new Set([
  'capacity-servers',
  'capacity-collectors',
  'capacity-clients',
  'capacity-gateways',
  'capacity-interval',
  'capacity-metrics-per-client',
  'capacity-whole-fleet',
  'capacity-collector-procs',
  'capacity-client-procs',
  'interval-targets', 'interval-configured', 'interval-fast', 'interval-repeats', 'sizes', 'interval', 'ticks', 'warmup-ticks', 'per-pid-ticks', 'repeats', 'clients', 'servers', 'gateways', 'client-procs', 'collectors']);

function valid(name: string, n: number, min: number, max: number): boolean {
  return Number.isFinite(n) && n >= min && n <= max && (!WHOLE.has(name) || Number.isInteger(n));
}

function num(values: Values, name: keyof typeof OPTIONS, fallback: number, min: number, max: number): number {
  const text = raw(values, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!valid(name, n, min, max)) throw new Error(`--${name}: expected a ${WHOLE.has(name) ? 'whole ' : ''}number in ${min}..${max}, got "${text}"`);
  return n;
}

function list(values: Values, name: keyof typeof OPTIONS, fallback: number[], min: number, max: number): number[] {
  const text = raw(values, name);
  if (text === undefined) return fallback;
  const out = text.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !valid(name, n, min, max))) {
    throw new Error(`--${name}: expected comma-separated ${WHOLE.has(name) ? 'whole ' : ''}numbers in ${min}..${max}, got "${text}"`);
  }
  return out;
}

function samplingFrom(values: Values, d: SamplingOptions): SamplingOptions {
  return {
    sizes: list(values, 'sizes', d.sizes, 1, 5000),
    intervalMs: num(values, 'interval', d.intervalMs, 100, 10_000),
    warmupTicks: num(values, 'warmup-ticks', d.warmupTicks, 1, 100),
    ticks: num(values, 'ticks', d.ticks, 1, 1000),
    perPidTicksLarge: num(values, 'per-pid-ticks', d.perPidTicksLarge, 1, 1000),
    repeats: num(values, 'repeats', d.repeats, 1, 10),
  };
}

function fanoutFrom(values: Values, d: FanoutOptions): FanoutOptions {
  const stacks = (raw(values, 'stacks') ?? d.stacks.join(',')).split(',').map((s) => s.trim());
  for (const s of stacks) if (!STACKS.includes(s as Stack)) throw new Error(`--stacks: expected some of ${STACKS.join(', ')}, got "${s}"`);
  return {
    clients: num(values, 'clients', d.clients, 1, 20_000),
    servers: num(values, 'servers', d.servers, 1, 10_000),
    gateways: num(values, 'gateways', d.gateways, 1, 8),
    clientProcs: num(values, 'client-procs', d.clientProcs, 1, 8),
    collectors: num(values, 'collectors', d.collectors, 1, 10_000),
    ratesPerSec: list(values, 'rates', d.ratesPerSec, 0.1, 10_000),
    warmupMs: num(values, 'warmup', d.warmupMs / 1000, 0, 60) * 1000,
    windowMs: num(values, 'window', d.windowMs / 1000, 0.5, 120) * 1000,
    p99LimitMs: num(values, 'p99-limit', d.p99LimitMs, 1, 10_000),
    stopP99Ms: num(values, 'stop-p99', d.stopP99Ms, 1, 60_000),
    retryAboveOtherCores: num(values, 'retry-above', d.retryAboveOtherCores, 0, 64),
    quietBudgetMs: num(values, 'quiet-budget', d.quietBudgetMs / 1000, 0, 3600) * 1000,
    stacks: stacks as FanoutOptions['stacks'],
  };
}

function intervalFrom(values: Values, d: IntervalOptions): IntervalOptions {
  return {
    targets: num(values, 'interval-targets', d.targets, 2, 5000),
    configuredMs: num(values, 'interval-configured', d.configuredMs, 100, 60_000),
    fastMs: num(values, 'interval-fast', d.fastMs, 100, 60_000),
    warmupMs: num(values, 'interval-warmup', d.warmupMs / 1000, 0, 120) * 1000,
    windowMs: num(values, 'interval-window', d.windowMs / 1000, 1, 600) * 1000,
    repeats: num(values, 'interval-repeats', d.repeats, 1, 10),
  };
}

function capacityFrom(values: Values, d: CapacityOptions): CapacityOptions {
  const kinds = (raw(values, 'capacity-redis') ?? d.kinds.join(',')).split(',').map((s) => s.trim());
  for (const k of kinds) if (!REDIS_KINDS.includes(k as RedisKind)) throw new Error(`--capacity-redis: expected some of ${REDIS_KINDS.join(', ')}, got "${k}"`);
  const servers = num(values, 'capacity-servers', d.servers, 1, 100_000);
  return {
    servers,
    collectors: num(values, 'capacity-collectors', Math.min(d.collectors, servers), 1, Math.min(1000, servers)),
    clients: num(values, 'capacity-clients', d.clients, 1, 5000),
    gateways: num(values, 'capacity-gateways', d.gateways, 1, 8),
    intervalMs: num(values, 'capacity-interval', d.intervalMs, 100, 60_000),
    metricsPerClient: num(values, 'capacity-metrics-per-client', d.metricsPerClient, 0, 50),
    wholeFleetClients: num(values, 'capacity-whole-fleet', d.wholeFleetClients, 0, 1000),
    collectorProcs: num(values, 'capacity-collector-procs', d.collectorProcs, 1, 16),
    clientProcs: num(values, 'capacity-client-procs', d.clientProcs, 1, 8),
    warmupMs: num(values, 'capacity-warmup', d.warmupMs / 1000, 0, 120) * 1000,
    windowMs: num(values, 'capacity-window', d.windowMs / 1000, 1, 300) * 1000,
    kinds: [...new Set(kinds)] as RedisKind[],
  };
}

export function parseCapacityFlags(argv: readonly string[], defaults: CapacityOptions): CapacityOptions {
  return capacityFrom(parse(argv), defaults);
}

export function parseIntervalFlags(argv: readonly string[], defaults: IntervalOptions): IntervalOptions {
  return intervalFrom(parse(argv), defaults);
}

export function parseSamplingFlags(argv: readonly string[], defaults: SamplingOptions): SamplingOptions {
  return samplingFrom(parse(argv), defaults);
}

export function parseFanoutFlags(argv: readonly string[], defaults: FanoutOptions): FanoutOptions {
  return fanoutFrom(parse(argv), defaults);
}

export type RunFlags = {
  only: 'sampling' | 'fanout' | 'memory' | 'host' | 'interval' | 'fleet' | 'capacity' | null;
  write: boolean;
  /** Rewrites README.md from results/latest.json without measuring anything. */
  renderOnly: boolean;
  sampling: SamplingOptions;
  fanout: FanoutOptions;
  interval: IntervalOptions;
  capacity: CapacityOptions;
};

export function parseRunFlags(
  argv: readonly string[],
  defaults: { sampling: SamplingOptions; fanout: FanoutOptions; interval: IntervalOptions; capacity: CapacityOptions },
): RunFlags {
  const values = parse(argv);
  const only = raw(values, 'only');
  if (only !== undefined && only !== 'sampling' && only !== 'fanout' && only !== 'memory' && only !== 'host' && only !== 'interval' && only !== 'fleet' && only !== 'capacity') {
    throw new Error(`--only: expected sampling, fanout, memory, host, interval, fleet or capacity, got "${only}"`);
  }
  return {
    only: only ?? null,
    write: values['no-write'] !== true,
    renderOnly: values['render-only'] === true,
    sampling: samplingFrom(values, defaults.sampling),
    fanout: fanoutFrom(values, defaults.fanout),
    interval: intervalFrom(values, defaults.interval),
    capacity: capacityFrom(values, defaults.capacity),
  };
}
