// Benchmark: capacity. S servers written by C collectors (synthetic samples, through the store's
// tick writer exactly as a collector writes them), D dashboard clients on G vigil gateways, each
// client watching a few servers' metrics and, from the third phase on, the fleet summary: the same
// load on one Redis node and on a three-master Redis Cluster, one after the other in one run.
// Each stack goes through five phases, each measured over one window after a warm-up:
//   writes         the collectors alone (no gateway yet): what writing samples costs Redis;
//   metrics        plus the gateways and the clients on their metrics rooms;
//   fleet-view     plus one fleet subscriber per gateway: each gateway's view reads the fleet once a second;
//   fleet-filtered every client on the fleet, filtered to its own collector's servers (a team's list);
//   fleet-whole    plus W clients on the whole fleet, unfiltered.
// Per-unit costs are differences between phases (capacity-model.ts). Run directly to print the JSON.
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { killAll } from './lib/children.js';
import { otherCores } from './lib/cpu.js';
import { parseCapacityFlags } from './lib/flags.js';
import { deriveCosts, type CapacityCosts } from './capacity-model.js';
import { redisInfo } from './lib/node-stats.js';
import { clientSpecs, collectorSpecs, serverId, serversPerNode, snapshot, startFrontEnd, startStack, streamLength, subscribeFleet, type Snapshot, type Stack } from './capacity-stack.js';

export type RedisKind = 'single' | 'cluster';
export const REDIS_KINDS: readonly RedisKind[] = ['single', 'cluster'];

export type CapacityOptions = {
  servers: number;
  collectors: number;
  clients: number;
  gateways: number;
  /** Each collector's sampling interval. */
  intervalMs: number;
  /** Servers whose metrics each client watches (rooms it joins). */
  metricsPerClient: number;
  /** Clients that take the whole fleet in the last phase. */
  wholeFleetClients: number;
  collectorProcs: number;
  clientProcs: number;
  warmupMs: number;
  windowMs: number;
  kinds: RedisKind[];
};

export const DEFAULT_CAPACITY: CapacityOptions = {
  servers: 10_000,
  collectors: 100,
  clients: 1000,
  gateways: 2,
  intervalMs: 5000,
  metricsPerClient: 3,
  wholeFleetClients: 10,
  collectorProcs: 4,
  clientProcs: 2,
  warmupMs: 6000,
  windowMs: 15_000,
  kinds: ['single', 'cluster'],
};

export const PHASES = ['writes', 'metrics', 'fleet-view', 'fleet-filtered', 'fleet-whole'] as const;
export type Phase = (typeof PHASES)[number];

export type NodeFigures = { name: string; role: 'master' | 'replica'; cores: number | null; infoCores: number; netInPerSec: number; netOutPerSec: number; commandsPerSec: number };

export type PhaseResult = {
  phase: Phase;
  windowMs: number;
  samplesPerSec: number;
  /** Collector ticks that started late (the previous write of that collector overran), and failed writes. */
  lateTicks: number;
  failures: number;
  redis: { cores: number | null; masterCores: number | null; nodes: NodeFigures[] };
  gateways: { cores: number | null; readBytesPerSec: number | null; writtenBytesPerSec: number | null };
  collectorsCores: number | null;
  clientsCores: number | null;
  /** process:info received by the clients per second. */
  deliveriesPerSec: number;
  fleetMessagesPerSec: number;
  fleetRowsPerSec: number;
  /** Socket.IO message bytes the clients received per second (all events). */
  clientBytesPerSec: number;
  otherCores: number | null;
  loadAvg: number[];
};

/** used_memory before anything was written and after the last phase, and of that the connections' buffers. */
export type MemoryFigures = {
  name: string;
  role: 'master' | 'replica';
  baseline: number;
  after: number;
  clientsBaseline: number;
  clientsAfter: number;
  servers: number;
  /** (used_memory − connection buffers) growth ÷ the servers whose keys the node holds. */
  bytesPerServer: number | null;
};

export type KindResult = {
  kind: RedisKind;
  connected: number;
  fleet: { viewSubscribers: number; filtered: number; whole: number };
  /** Distinct server rooms with a client, summed over gateways: what the gateways receive from Redis per sample round. */
  gatewayRooms: number;
  phases: PhaseResult[];
  memory: MemoryFigures[];
  /** Entries in one server's metrics stream at the end (the run is short: streams are far from their bound). */
  streamEntries: number;
  costs: CapacityCosts;
  startedAt: string;
  finishedAt: string;
  notes: string[];
};

export type CapacityReport = { options: CapacityOptions; runs: KindResult[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const perSec = (n: number, ms: number) => (n * 1000) / ms;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function delta(a: Snapshot, b: Snapshot, names: (name: string) => boolean): number | null {
  let total = 0;
  for (const name of Object.keys(a.cpu)) {
    if (!names(name)) continue;
    const x = a.cpu[name];
    const y = b.cpu[name];
    if (x == null || y == null) return null;
    total += y - x;
  }
  return total;
}

function phaseResult(phase: Phase, stack: Stack, a: Snapshot, b: Snapshot): PhaseResult {
  const ms = b.at - a.at;
  const cores = (ms2: number | null) => (ms2 === null ? null : round(ms2 / ms, 3));
  const io = (which: 'rchar' | 'wchar') => {
    let total = 0;
    for (const name of Object.keys(a.io)) {
      const x = a.io[name];
      const y = b.io[name];
      if (!x || !y) return null;
      total += y[which] - x[which];
    }
    return Math.round(perSec(total, ms));
  };
  const nodes: NodeFigures[] = stack.nodes.map((n, i) => ({
    name: n.name,
    role: n.role,
    cores: cores(delta(a, b, (k) => k === `redis:${n.name}`)),
    infoCores: round((b.info[i]!.cpuMs - a.info[i]!.cpuMs) / ms, 3),
    netInPerSec: Math.round(perSec(b.info[i]!.netIn - a.info[i]!.netIn, ms)),
    netOutPerSec: Math.round(perSec(b.info[i]!.netOut - a.info[i]!.netOut, ms)),
    commandsPerSec: Math.round(perSec(b.info[i]!.commands - a.info[i]!.commands, ms)),
  }));
  const ours = delta(a, b, () => true);
  return {
    phase,
    windowMs: ms,
    samplesPerSec: Math.round(perSec(b.collectors.samples - a.collectors.samples, ms)),
    lateTicks: b.collectors.late - a.collectors.late,
    failures: b.collectors.failures - a.collectors.failures,
    redis: { cores: cores(delta(a, b, (k) => k.startsWith('redis:'))), masterCores: cores(delta(a, b, (k) => k.startsWith('redis:master') || k === 'redis:redis')), nodes },
    gateways: { cores: cores(delta(a, b, (k) => k.startsWith('gateway:'))), readBytesPerSec: io('rchar'), writtenBytesPerSec: io('wchar') },
    collectorsCores: cores(delta(a, b, (k) => k.startsWith('collectors:'))),
    clientsCores: cores(delta(a, b, (k) => k.startsWith('clients:'))),
    deliveriesPerSec: Math.round(perSec(b.clients.samples - a.clients.samples, ms)),
    fleetMessagesPerSec: round(perSec(b.clients.fleetMessages - a.clients.fleetMessages, ms), 1),
    fleetRowsPerSec: Math.round(perSec(b.clients.fleetRows - a.clients.fleetRows, ms)),
    clientBytesPerSec: Math.round(perSec(b.clients.bytes - a.clients.bytes, ms)),
    otherCores: otherCores(a.busyMs === null || b.busyMs === null ? null : b.busyMs - a.busyMs, ours, ms),
    loadAvg: loadavg().map((l) => round(l)),
  };
}

async function measure(phase: Phase, stack: Stack, o: CapacityOptions, log: (l: string) => void): Promise<PhaseResult> {
  await sleep(o.warmupMs);
  const a = await snapshot(stack);
  await sleep(o.windowMs);
  const b = await snapshot(stack);
  const r = phaseResult(phase, stack, a, b);
  log(
    `capacity[${stack.kind}] ${phase}: ${r.samplesPerSec} samples/s, redis ${r.redis.cores} cores, gateways ${r.gateways.cores} cores ` +
      `(read ${r.gateways.readBytesPerSec} B/s), ${r.deliveriesPerSec} deliveries/s, ${r.fleetMessagesPerSec} fleet messages/s, other load ${r.otherCores} cores`,
  );
  return r;
}

/** Distinct (gateway, server room) pairs the clients hold: each one is a message from Redis to that gateway per sample. */
function gatewayRooms(o: CapacityOptions): number {
  const gateways = Array.from({ length: o.gateways }, (_, g) => g);
  const rooms = new Set<string>();
  for (const c of clientSpecs(o, collectorSpecs(o), gateways)) for (const id of c.metrics) rooms.add(`${c.url} ${id}`);
  return rooms.size;
}

async function runKind(kind: RedisKind, o: CapacityOptions, log: (l: string) => void): Promise<KindResult> {
  const startedAt = new Date().toISOString();
  const stack = await startStack(kind, o, log);
  try {
    const phases: PhaseResult[] = [];
    phases.push(await measure('writes', stack, o, log));
    await startFrontEnd(stack, o, log);
    const notes = [...stack.notes];
    phases.push(await measure('metrics', stack, o, log));
    // Client c is on gateway c mod G: clients 0..G-1 give each gateway one fleet subscriber.
    const view = Array.from({ length: Math.min(o.gateways, o.clients) }, (_, i) => i);
    const fleetNote = (what: string, r: { failed: number; firstError: string | null }) => {
      if (r.failed > 0) notes.push(`${what}: ${r.failed} subscriptions failed: ${r.firstError}`);
    };
    fleetNote('fleet-view', await subscribeFleet(stack, o, view, false));
    phases.push(await measure('fleet-view', stack, o, log));
    const rest = Array.from({ length: o.clients - view.length }, (_, i) => i + view.length);
    fleetNote('fleet-filtered', await subscribeFleet(stack, o, rest, false));
    phases.push(await measure('fleet-filtered', stack, o, log));
    const w = Math.min(o.wholeFleetClients, o.clients);
    const whole = Array.from({ length: w }, (_, i) => Math.floor((i * o.clients) / w));
    fleetNote('fleet-whole', await subscribeFleet(stack, o, whole, true));
    phases.push(await measure('fleet-whole', stack, o, log));
    const after = await Promise.all(stack.nodes.map((n) => redisInfo(n.client)));
    const servers = await serversPerNode(stack, o.servers);
    const memory: MemoryFigures[] = stack.nodes.map((n, i) => {
      const b = stack.baseline[i]!;
      const x = after[i]!;
      const grown = x.usedMemory - x.clientsMemory - (b.usedMemory - b.clientsMemory);
      return {
        name: n.name,
        role: n.role,
        baseline: b.usedMemory,
        after: x.usedMemory,
        clientsBaseline: b.clientsMemory,
        clientsAfter: x.clientsMemory,
        servers: servers[i]!,
        bytesPerServer: servers[i]! > 0 ? Math.round(grown / servers[i]!) : null,
      };
    });
    const streamEntries = await streamLength(stack, serverId(0));
    if (phases.some((p) => p.failures > 0)) notes.push('some collector writes failed (see the phases)');
    const disconnects = (await snapshot(stack)).clients.disconnects;
    if (disconnects > 0) notes.push(`${disconnects} clients were disconnected during the run`);
    const fleet = { viewSubscribers: view.length, filtered: o.clients, whole: w };
    const rooms = gatewayRooms(o);
    return {
      kind,
      connected: stack.connected,
      fleet,
      gatewayRooms: rooms,
      phases,
      memory,
      streamEntries,
      costs: deriveCosts(o, phases, memory, fleet, rooms),
      startedAt,
      finishedAt: new Date().toISOString(),
      notes,
    };
  } finally {
    await stack.close();
  }
}

export async function runCapacity(o: CapacityOptions, log: (l: string) => void = () => {}): Promise<CapacityReport> {
  const runs: KindResult[] = [];
  for (const kind of o.kinds) {
    runs.push(await runKind(kind, o, log));
    // In the log too: a run stopped later still leaves this stack's figures behind.
    log(`capacity[${kind}] result: ${JSON.stringify(runs[runs.length - 1])}`);
  }
  return { options: o, runs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.once('SIGINT', () => {
    killAll();
    process.exit(130);
  });
  try {
    const report = await runCapacity(parseCapacityFlags(process.argv.slice(2), DEFAULT_CAPACITY), (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`));
    console.log(JSON.stringify(report, null, 2));
  } finally {
    killAll();
  }
}
