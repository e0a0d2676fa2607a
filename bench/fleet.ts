// The fleet summary's cost at a fleet's size: a gateway (its own process) with `servers` synthetic
// servers in Redis, a writer that samples a fifth of them every second (each server every 5 s, the
// default interval: its latest sample and heartbeat, as a collector writes them), and `clients`
// Socket.IO clients. Three windows of the same length, in one run:
//   idle       the clients are connected, none subscribes (the gateway must not read the fleet);
//   all        every client subscribes with no filter (each gets every changed row);
//   filtered   every client subscribes to about a tenth of the fleet (`host: 'host-1*'`, 11 of 100 hosts).
// Per second: gateway CPU ms and Redis CPU ms above the idle window; per client: bytes of
// `fleet:update` per second; and the snapshot's size and time.
// First, the read alone, in this process (the gateway's FleetView on the same Redis): a second's
// worth of writes, then one read, a dozen times: this process's CPU per read and Redis's own
// CPU for the read's commands (INFO commandstats), for a steady read and for a full one (every
// server read again, as the gateway does once a minute).
//   node --import tsx --conditions=vigil:source bench/fleet.ts [--servers=10000] [--clients=10] [--window=10]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { io as connect, type Socket } from 'socket.io-client';
import { Keys, NAMESPACE, ServerEvents, metricsRoom, type FleetUpdate, type ProcessInfoBody, type RegistryEntry } from '@vigil/protocol';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type AppendOp } from '@vigil/store';
import { startRedis } from '@vigil/testkit';
import { benchToken } from './lib/auth.js';
import { killAll, spawnTs } from './lib/children.js';
import pino from 'pino';
import { machineBusyMs, otherCores, ownCpuUs, processCpuMs, waitForQuiet } from './lib/cpu.js';
import { FleetView } from '../services/gateway/src/fleet-view.js';
import { FleetStore } from '@vigil/store';

export type FleetOptions = { servers: number; clients: number; windowMs: number };
export const DEFAULT_FLEET: FleetOptions = { servers: 10_000, clients: 10, windowMs: 10_000 };

/** Each server is sampled every this many ms; the writer writes a slice of the fleet every WRITE_EVERY_MS. */
const SAMPLE_INTERVAL_MS = 5000;
const WRITE_EVERY_MS = 200;

type WindowReport = {
  name: string;
  seconds: number;
  gatewayCpuMs: number | null;
  redisCpuMs: number | null;
  /** `fleet:update` messages (parts) and their bytes, per client per second (mean over the clients). */
  messagesPerClientPerSec: number;
  bytesPerClientPerSec: number;
  /** Rows per client per second. */
  rowsPerClientPerSec: number;
  /** Deltas (complete ones) the first client got: about one per gateway read. */
  deltas: number;
  otherCores: number | null;
};

/** One read of the view: this process's CPU ms, Redis's CPU ms for its commands, and what it read. */
type ReadCost = { cpuMs: number; redisMs: number; wallMs: number; read: number; changed: number };

export type FleetReport = {
  options: FleetOptions;
  sampledPerSec: number;
  /** Median of the steady reads, and the full reads, of the view alone. */
  read: { steady: ReadCost | null; full: ReadCost | null; reads: number };
  snapshot: { ms: number; messages: number; bytes: number; rows: number };
  windows: WindowReport[];
  /** Above the idle window, divided by the deltas the first client got (one per gateway read). */
  perRefresh: { all: { gatewayCpuMs: number | null; redisCpuMs: number | null }; filtered: { gatewayCpuMs: number | null; redisCpuMs: number | null } };
  loadAvgAfter: number[];
};

function registryEntry(serverId: string, i: number, at: string): RegistryEntry {
  return {
    serverId,
    targetId: serverId,
    host: `host-${i % 100}`,
    collectorId: `collector-${i % 100}`,
    pid: 1000 + i,
    command: 'node app.js',
    startedAt: at,
    status: 'running',
    restarts: 0,
    intervalMs: SAMPLE_INTERVAL_MS,
    staleAfterMs: 3 * SAMPLE_INTERVAL_MS,
    updatedAt: at,
  };
}

function sample(serverId: string, n: number): AppendOp {
  const at = new Date().toISOString();
  const body: ProcessInfoBody = {
    serverId,
    processInfo: { pid: 4242, cpu: (n * 7) % 100, memory: { rss: 50_000_000 + n, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: n, timestamp: at },
    timestamp: at,
  };
  return {
    stream: Keys.metrics(serverId),
    maxLen: 10,
    latestKey: Keys.latest(serverId),
    body: JSON.stringify(body),
    frame: broadcastFrame('fleet-bench', NAMESPACE, metricsRoom(serverId), ServerEvents.processInfo),
  };
}

type Counter = { messages: number; bytes: number; rows: number; deltas: number };

function counting(socket: Socket): Counter {
  const c: Counter = { messages: 0, bytes: 0, rows: 0, deltas: 0 };
  // Bytes as they came over the wire (the engine's text packet), not as re-encoded here.
  socket.io.engine.on('packet', (p: { type: string; data?: unknown }) => {
    if (p.type === 'message' && typeof p.data === 'string' && p.data.includes(ServerEvents.fleetUpdate)) c.bytes += Buffer.byteLength(p.data);
  });
  socket.on(ServerEvents.fleetUpdate, (u: FleetUpdate) => {
    c.messages++;
    c.rows += u.rows.length;
    if (!u.snapshot && u.complete) c.deltas++;
  });
  return c;
}

export async function runFleet(options: FleetOptions, log: (line: string) => void): Promise<FleetReport> {
  const redis = await startRedis();
  const writerRedis = createRedis(redis.url, 'command');
  const writer = new BatchWriter(writerRedis);
  const gateway = await spawnTs('gateway-proc.ts');
  const sockets: Socket[] = [];
  let writing: NodeJS.Timeout | null = null;
  try {
    const ids = Array.from({ length: options.servers }, (_, i) => `srv-${String(i).padStart(5, '0')}`);
    const at = new Date().toISOString();
    log(`fleet: writing ${options.servers} servers`);
    for (let from = 0; from < ids.length; from += 500) {
      const batch = ids.slice(from, from + 500);
      await writer.write(
        {
          appends: batch.map((id) => sample(id, 1)),
          registry: batch.map((id, i) => ({ serverId: id, entry: JSON.stringify(registryEntry(id, from + i, at)) })),
          heartbeats: batch.map((id) => ({ serverId: id, at: Date.now() })),
        },
        { positions: false },
      );
    }
    const read = await measureReads(redis, writer, ids, log);
    await gateway.next('ready');
    gateway.send({ type: 'start', redisUrl: redis.url, clients: options.clients });
    const { port } = await gateway.next<{ type: string; port: number }>('listening');

    // A slice of the fleet every WRITE_EVERY_MS: every server once per SAMPLE_INTERVAL_MS.
    const slice = Math.ceil(options.servers / (SAMPLE_INTERVAL_MS / WRITE_EVERY_MS));
    let next = 0;
    let round = 2;
    let inFlight = false;
    writing = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      const batch = ids.slice(next, next + slice);
      next += slice;
      if (next >= ids.length) {
        next = 0;
        round++;
      }
      const now = Date.now();
      writer
        .write({ appends: batch.map((id) => sample(id, round)), registry: [], heartbeats: batch.map((id) => ({ serverId: id, at: now })) }, { positions: false })
        .catch((err: Error) => log(`fleet: write failed: ${err.message}`))
        .finally(() => (inFlight = false));
    }, WRITE_EVERY_MS);

    const token = await benchToken();
    for (let i = 0; i < options.clients; i++) {
      const socket = connect(`http://127.0.0.1:${port}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      sockets.push(socket);
    }
    const counters = sockets.map(counting);

    const measure = async (name: string): Promise<WindowReport> => {
      const before = counters.map((c) => ({ ...c }));
      const g0 = processCpuMs(gateway.pid);
      const r0 = processCpuMs(redis.pid!);
      const b0 = machineBusyMs();
      const own0 = processCpuMs(process.pid);
      const started = Date.now();
      await new Promise((r) => setTimeout(r, options.windowMs));
      const seconds = (Date.now() - started) / 1000;
      const g1 = processCpuMs(gateway.pid);
      const r1 = processCpuMs(redis.pid!);
      const b1 = machineBusyMs();
      const own1 = processCpuMs(process.pid);
      const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
      const mean = (f: (c: Counter, b: Counter) => number) => counters.reduce((s, c, i) => s + f(c, before[i]!), 0) / counters.length / seconds;
      const ours = [diff(g0, g1), diff(r0, r1), diff(own0, own1)].reduce<number | null>((s, v) => (s === null || v === null ? null : s + v), 0);
      const report: WindowReport = {
        name,
        seconds: round2(seconds),
        gatewayCpuMs: diff(g0, g1),
        redisCpuMs: diff(r0, r1),
        messagesPerClientPerSec: round2(mean((c, b) => c.messages - b.messages)),
        bytesPerClientPerSec: Math.round(mean((c, b) => c.bytes - b.bytes)),
        rowsPerClientPerSec: round2(mean((c, b) => c.rows - b.rows)),
        deltas: counters[0]!.deltas - before[0]!.deltas,
        otherCores: otherCores(diff(b0, b1), ours, seconds * 1000),
      };
      log(`fleet: ${name}: ${JSON.stringify(report)}`);
      return report;
    };

    const quiet = await waitForQuiet(0.3, 20_000, log);
    log(`fleet: other work on the machine before measuring: ${quiet} cores`);
    const idle = await measure('idle');

    const subscribed = Date.now();
    await Promise.all(sockets.map((s) => s.timeout(60_000).emitWithAck('subscribe-fleet', {})));
    const snapshotMs = Date.now() - subscribed;
    const snapshot = { ms: snapshotMs, messages: counters[0]!.messages, bytes: counters[0]!.bytes, rows: counters[0]!.rows };
    log(`fleet: ${options.clients} snapshots in ${snapshotMs} ms: ${JSON.stringify(snapshot)} per client`);
    const all = await measure('all');

    await Promise.all(sockets.map((s) => s.timeout(60_000).emitWithAck('subscribe-fleet', { filter: { host: 'host-1*' } })));
    const filtered = await measure('filtered');

    const perRefresh = (w: WindowReport) => ({
      gatewayCpuMs: w.gatewayCpuMs === null || idle.gatewayCpuMs === null || w.deltas === 0 ? null : round2((w.gatewayCpuMs - idle.gatewayCpuMs) / w.deltas),
      redisCpuMs: w.redisCpuMs === null || idle.redisCpuMs === null || w.deltas === 0 ? null : round2((w.redisCpuMs - idle.redisCpuMs) / w.deltas),
    });
    return {
      options,
      sampledPerSec: Math.round((slice * 1000) / WRITE_EVERY_MS),
      read,
      snapshot,
      windows: [idle, all, filtered],
      perRefresh: { all: perRefresh(all), filtered: perRefresh(filtered) },
      loadAvgAfter: loadavg().map(round2),
    };
  } finally {
    if (writing) clearInterval(writing);
    for (const s of sockets) s.close();
    await gateway.stop();
    await closeRedis(writerRedis);
    await redis.close();
  }
}

/** Redis's own CPU µs so far for the commands a fleet read sends. */
async function fleetCommandsUs(redis: Awaited<ReturnType<typeof startRedis>>): Promise<number> {
  const stats = await redis.command('INFO', 'commandstats');
  let us = 0;
  for (const cmd of ['zrange', 'hlen', 'hkeys', 'hmget', 'get']) us += Number(new RegExp(`cmdstat_${cmd}:calls=\\d+,usec=(\\d+)`).exec(stats)?.[1] ?? 0);
  return us;
}

/** Reads of the view alone, each after a second's worth of samples (2,000 at 10,000 servers). */
async function measureReads(redis: Awaited<ReturnType<typeof startRedis>>, writer: BatchWriter, ids: string[], log: (l: string) => void): Promise<FleetReport['read']> {
  const connection = createRedis(redis.url, 'command');
  const view = new FleetView(new FleetStore(connection), pino({ level: 'silent' }));
  const perSecond = Math.ceil((ids.length * 1000) / SAMPLE_INTERVAL_MS);
  const steady: ReadCost[] = [];
  const full: ReadCost[] = [];
  const reads = 13;
  let next = 0;
  for (let i = 0; i < reads; i++) {
    const batch = ids.slice(next, next + perSecond);
    next = (next + perSecond) % ids.length;
    await writer.write({ appends: batch.map((id) => sample(id, 100 + i)), registry: [], heartbeats: batch.map((id) => ({ serverId: id, at: Date.now() })) }, { positions: false });
    const us0 = await fleetCommandsUs(redis);
    const cpu0 = ownCpuUs();
    const t0 = performance.now();
    // Reads 4, 8 and 12 are full ones.
    await view.read(i > 0 && i % 4 === 0);
    const cost: ReadCost = {
      cpuMs: round2((ownCpuUs() - cpu0) / 1000),
      wallMs: round2(performance.now() - t0),
      redisMs: round2(((await fleetCommandsUs(redis)) - us0) / 1000),
      read: view.lastRead?.read ?? 0,
      changed: view.lastRead?.changed ?? 0,
    };
    // The first read fills the view (everything is new): not a steady one.
    if (i > 0) (view.lastRead?.full ? full : steady).push(cost);
  }
  await closeRedis(connection);
  const median = (list: ReadCost[]) => [...list].sort((a, b) => a.cpuMs - b.cpuMs)[Math.floor(list.length / 2)] ?? null;
  const out = { steady: median(steady), full: median(full), reads };
  log(`fleet: view reads alone: ${JSON.stringify(out)}`);
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function parseFleetFlags(argv: readonly string[], d: FleetOptions = DEFAULT_FLEET): FleetOptions {
  // Not strict: bench/run.ts passes its whole command line (other benchmarks' flags included).
  const { values } = parseArgs({
    args: [...argv],
    options: { servers: { type: 'string' }, clients: { type: 'string' }, window: { type: 'string' } },
    strict: false,
  });
  const whole = (name: string, text: string | boolean | undefined, fallback: number, max: number) => {
    if (typeof text !== 'string') return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name}: expected a whole number in 1..${max}, got "${text}"`);
    return n;
  };
  return {
    servers: whole('servers', values.servers, d.servers, 100_000),
    clients: whole('clients', values.clients, d.clients, 1000),
    windowMs: whole('window', values.window, d.windowMs / 1000, 600) * 1000,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const log = (line: string) => console.error(`[fleet ${new Date().toISOString().slice(11, 19)}] ${line}`);
  try {
    console.log(JSON.stringify(await runFleet(parseFleetFlags(process.argv.slice(2)), log), null, 2));
  } finally {
    killAll();
  }
}
