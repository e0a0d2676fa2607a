// Benchmark: Redis memory per server at steady state. For each scenario (sampling interval × log
// rate) a private redis-server is given `servers` servers' worth of one simulated hour of what a
// collector writes — registry entry, heartbeat, latest sample, metrics / logs / events streams,
// with the collector's own bodies and bounds (XADD MAXLEN ~) — then measured two ways: INFO
// memory's used_memory before and after (÷ servers), and MEMORY USAGE per key family. Stream ids
// are the simulated times (one per interval, lines spread over each second), so the streams'
// delta-encoded ids are laid out as a live collector's would be. Also a client session, the
// other key family that grows with use. Run directly to print the JSON result.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  Keys,
  STREAM_FIELD,
  sessionKey,
  type ProcessInfoBody,
  type ProcessLogsBody,
  type RegistryEntry,
  type StatusChangeBody,
} from '@vigil/protocol';
import { closeRedis, createRedis } from '@vigil/store';
import { startRedis } from '@vigil/testkit';
import { DEFAULT_HISTORY_MAX_LEN, DEFAULT_LOG_HISTORY_MAX_LEN, EVENTS_MAX_LEN } from '@vigil/collector';

export type MemoryOptions = {
  /** Servers per scenario (figures are per server: totals ÷ this). */
  servers: number;
  /** Simulated time each server has run, in seconds. */
  simulatedSeconds: number;
  intervalsMs: number[];
  /** Log lines per second per server; 0 means none. */
  logRates: number[];
  /** Length of each log message, in characters (a typical access-log line). */
  logMessageChars: number;
};

export const DEFAULT_MEMORY: MemoryOptions = { servers: 20, simulatedSeconds: 3600, intervalsMs: [1000, 5000], logRates: [0, 10], logMessageChars: 120 };

/** What the collector bounds each stream to (its defaults) and the event stream's bound. */
const BOUNDS = { metrics: DEFAULT_HISTORY_MAX_LEN, logs: DEFAULT_LOG_HISTORY_MAX_LEN, events: EVENTS_MAX_LEN };

export type MemoryRow = {
  intervalMs: number;
  logsPerSec: number;
  /** Entries each stream holds at the end (per server). */
  entries: { metrics: number; logs: number; events: number };
  /** used_memory growth ÷ servers. */
  bytesPerServer: number;
  /** MEMORY USAGE per family, per server (registry and heartbeats: their share of the shared key). */
  perKey: { registry: number; heartbeat: number; latest: number; metrics: number; logs: number; events: number };
};

export type MemoryReport = {
  options: MemoryOptions;
  bounds: typeof BOUNDS;
  rows: MemoryRow[];
  /** MEMORY USAGE of one client session holding 10 rooms (a dashboard on one server's metrics and logs). */
  sessionBytes: number;
  redisVersion: string;
};

const ISO = (ms: number) => new Date(ms).toISOString();

function registryEntry(serverId: string, intervalMs: number, at: number): RegistryEntry {
  return {
    serverId,
    targetId: serverId,
    host: 'node-7.cluster.local',
    collectorId: `${serverId}-agent`,
    pid: 4242,
    command: 'node /app/server.js --port 8080',
    startedAt: ISO(at - 3_600_000),
    status: 'running',
    restarts: 0,
    intervalMs,
    staleAfterMs: 3 * intervalMs,
    updatedAt: ISO(at),
  };
}

function sampleBody(serverId: string, n: number, at: number): ProcessInfoBody {
  return {
    serverId,
    processInfo: {
      pid: 4242,
      cpu: Math.round(((n * 7919) % 10_000) / 100) / 1,
      memory: { rss: 80_000_000 + ((n * 104_729) % 9_000_000), heapUsed: 40_000_000 + n, heapTotal: 60_000_000, external: 2_000_000 },
      uptime: 3600 + n,
      timestamp: ISO(at),
    },
    timestamp: ISO(at),
  };
}

function logBody(serverId: string, n: number, at: number, chars: number): ProcessLogsBody {
  const text = `GET /api/items/${n} 200 ${n % 97} ms `;
  return {
    serverId,
    logData: { level: n % 50 === 0 ? 'warn' : 'info', message: text + 'x'.repeat(Math.max(0, chars - text.length)), timestamp: ISO(at), metadata: { stream: 'stdout' } },
    timestamp: ISO(at),
  };
}

type R = ReturnType<typeof createRedis>;

async function usedMemory(r: R): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await r.info('memory'))![1]);
}

async function memoryUsage(r: R, key: string): Promise<number> {
  return Number((await r.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
}

/** One scenario's hour for one server, written in pipelines of at most 2,000 commands. */
async function writeServer(r: R, serverId: string, intervalMs: number, logsPerSec: number, o: MemoryOptions, t0: number): Promise<void> {
  let pipeline = r.pipeline();
  const flushIfFull = async () => {
    if (pipeline.length < 2000) return;
    await pipeline.exec();
    pipeline = r.pipeline();
  };
  const samples = Math.floor((o.simulatedSeconds * 1000) / intervalMs);
  // Only the last bound's worth (plus a node) can remain: older entries would be trimmed anyway.
  const firstSample = Math.max(0, samples - BOUNDS.metrics - 200);
  let last = '';
  for (let n = firstSample; n < samples; n++) {
    const at = t0 + n * intervalMs;
    last = JSON.stringify(sampleBody(serverId, n, at));
    pipeline.xadd(Keys.metrics(serverId), 'MAXLEN', '~', BOUNDS.metrics, `${at}-0`, STREAM_FIELD, last);
    await flushIfFull();
  }
  const lines = Math.floor(o.simulatedSeconds * logsPerSec);
  const firstLine = Math.max(0, lines - BOUNDS.logs - 200);
  for (let n = firstLine; n < lines; n++) {
    const at = t0 + Math.floor((n * 1000) / logsPerSec);
    pipeline.xadd(Keys.logs(serverId), 'MAXLEN', '~', BOUNDS.logs, `${at}-${n % 1000}`, STREAM_FIELD, JSON.stringify(logBody(serverId, n, at, o.logMessageChars)));
    await flushIfFull();
  }
  const end = t0 + o.simulatedSeconds * 1000;
  const status: StatusChangeBody = { serverId, status: 'running', timestamp: ISO(t0), pid: 4242 };
  pipeline.xadd(Keys.events(serverId), 'MAXLEN', '~', BOUNDS.events, `${t0}-0`, STREAM_FIELD, JSON.stringify(status));
  pipeline.set(Keys.latest(serverId), `${last.slice(0, -1)},"position":"${end}-0"}`);
  pipeline.hset(Keys.registry, serverId, JSON.stringify(registryEntry(serverId, intervalMs, end)));
  pipeline.zadd(Keys.heartbeats, end, serverId);
  await pipeline.exec();
}

async function scenario(r: R, intervalMs: number, logsPerSec: number, o: MemoryOptions): Promise<MemoryRow> {
  await r.flushall();
  const before = await usedMemory(r);
  const ids = Array.from({ length: o.servers }, (_, i) => `bench-${intervalMs}-${logsPerSec}-${i}`);
  const t0 = Date.now() - o.simulatedSeconds * 1000;
  for (const id of ids) await writeServer(r, id, intervalMs, logsPerSec, o, t0);
  const after = await usedMemory(r);
  const sum = async (key: (id: string) => string) => {
    let total = 0;
    for (const id of ids) total += await memoryUsage(r, key(id));
    return Math.round(total / ids.length);
  };
  const id0 = ids[0]!;
  return {
    intervalMs,
    logsPerSec,
    entries: { metrics: await r.xlen(Keys.metrics(id0)), logs: await r.xlen(Keys.logs(id0)), events: await r.xlen(Keys.events(id0)) },
    bytesPerServer: Math.round((after - before) / ids.length),
    perKey: {
      registry: Math.round((await memoryUsage(r, Keys.registry)) / ids.length),
      heartbeat: Math.round((await memoryUsage(r, Keys.heartbeats)) / ids.length),
      latest: await sum(Keys.latest),
      metrics: await sum(Keys.metrics),
      logs: await sum(Keys.logs),
      events: await sum(Keys.events),
    },
  };
}

export async function runRedisMemory(o: MemoryOptions, log: (line: string) => void = () => {}): Promise<MemoryReport> {
  const redis = await startRedis();
  const r = createRedis(redis.url, 'command');
  try {
    const rows: MemoryRow[] = [];
    for (const intervalMs of o.intervalsMs) {
      for (const logsPerSec of o.logRates) {
        log(`memory: ${o.servers} servers, a sample every ${intervalMs} ms, ${logsPerSec} log lines/s, ${o.simulatedSeconds} s simulated`);
        rows.push(await scenario(r, intervalMs, logsPerSec, o));
      }
    }
    await r.flushall();
    const rooms = ['server-metrics-web-1', ...['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => `server-logs-web-1@${l}`), 'server-metrics-web-2', 'server-metrics-web-3', 'server-metrics-web-4'];
    const key = sessionKey('bench-session-0123456789abcdef');
    await r.hset(key, 'gw', 'gw-12345-abcdef', 'rooms', JSON.stringify(rooms.map((room) => ({ room }))), 'updated', Date.now());
    await r.pexpire(key, 120_000);
    const sessionBytes = await memoryUsage(r, key);
    const redisVersion = /^redis_version:(\S+)/m.exec(await r.info('server'))?.[1] ?? 'unknown';
    return { options: o, bounds: BOUNDS, rows, sessionBytes, redisVersion };
  } finally {
    await closeRedis(r);
    await redis.close();
  }
}

export function parseMemoryFlags(argv: readonly string[], d: MemoryOptions): MemoryOptions {
  const { values } = parseArgs({ args: [...argv], options: { 'memory-servers': { type: 'string' }, 'memory-seconds': { type: 'string' } }, strict: false });
  const whole = (name: string, v: unknown, fallback: number, min: number, max: number) => {
    if (typeof v !== 'string') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected a whole number in ${min}..${max}, got "${v}"`);
    return n;
  };
  return {
    ...d,
    servers: whole('memory-servers', values['memory-servers'], d.servers, 1, 1000),
    simulatedSeconds: whole('memory-seconds', values['memory-seconds'], d.simulatedSeconds, 1, 86_400),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await runRedisMemory(parseMemoryFlags(process.argv.slice(2), DEFAULT_MEMORY), (line) => console.error(line));
  console.log(JSON.stringify(report, null, 2));
}
