// One capacity stack: Redis (a single node, or a three-master cluster with a replica each), G vigil
// gateways, the collector processes and the client processes, started in that order and stopped in
// the reverse one; and a snapshot of every counter the benchmark reads at a window's edges.
import { Keys } from '@vigil/protocol';
import { closeRedis, createRedis, keySlot } from '@vigil/store';
import { startRedis, startRedisCluster, type RedisCluster, type RedisProcess } from '@vigil/testkit';
import type { Redis } from 'ioredis';
import { spawnTs, type Child } from './lib/children.js';
import { machineBusyMs, processCpuMs } from './lib/cpu.js';
import { processIo, redisInfo, type RedisInfo } from './lib/node-stats.js';
export type { RedisInfo };
import type { CapacityClient } from './capacity-clients-proc.js';
import type { CollectorSpec } from './capacity-collectors-proc.js';
import type { CapacityOptions, RedisKind } from './capacity.js';

/** A child's start (tsx compiling the gateway) takes seconds on a quiet machine, far longer on a busy one. */
const STARTUP_TIMEOUT_MS = 180_000;
/** Under heavy load a 1 s node timeout fails masters over by itself; this run is not about failover. */
const CLUSTER_NODE_TIMEOUT_MS = 15_000;

export type RedisNode = { name: string; role: 'master' | 'replica'; port: number; pid: number | null; client: Redis };

export type Stack = {
  kind: RedisKind;
  url: string;
  clusterNodes: string | undefined;
  nodes: RedisNode[];
  gateways: Child[];
  collectors: Child[];
  clients: Child[];
  /** used_memory of each node before anything was written (same order as nodes). */
  baseline: RedisInfo[];
  close(): Promise<void>;
};

export type Snapshot = {
  at: number;
  busyMs: number | null;
  cpu: Record<string, number | null>;
  io: Record<string, { rchar: number; wchar: number } | null>;
  info: RedisInfo[];
  collectors: { samples: number; ticks: number; late: number; failures: number; lastError: string | null; maxLagMs: number };
  clients: { samples: number; fleetMessages: number; fleetRows: number; snapshotRows: number; bytes: number; disconnects: number };
};

export const serverId = (i: number) => `cap-s-${String(i).padStart(5, '0')}`;
export const collectorId = (c: number) => `cap-c-${String(c).padStart(3, '0')}`;

/** Server i belongs to collector ⌊i / perCollector⌋ (contiguous blocks, as hosts hold their own servers). */
export function collectorSpecs(o: CapacityOptions): CollectorSpec[] {
  const per = Math.ceil(o.servers / o.collectors);
  return Array.from({ length: o.collectors }, (_, c) => ({
    id: collectorId(c),
    host: `cap-h-${String(c).padStart(3, '0')}`,
    servers: Array.from({ length: Math.max(0, Math.min(per, o.servers - c * per)) }, (_, k) => serverId(c * per + k)),
    offsetMs: Math.floor((c * o.intervalMs) / o.collectors),
  })).filter((c) => c.servers.length > 0);
}

/**
 * Client c connects to gateway c mod G, watches its collector's list (collector c mod C: the fleet
 * filter `{ collector }`) and `metricsPerClient` of that collector's servers, spread over them.
 */
export function clientSpecs(o: CapacityOptions, specs: CollectorSpec[], ports: number[]): CapacityClient[] {
  return Array.from({ length: o.clients }, (_, c) => {
    const col = specs[c % specs.length]!;
    const base = Math.floor(c / specs.length) * o.metricsPerClient;
    const metrics = [...new Set(Array.from({ length: o.metricsPerClient }, (_, j) => col.servers[(base + j) % col.servers.length]!))];
    return { url: `http://127.0.0.1:${ports[c % ports.length]}`, metrics, filter: { collector: col.id } };
  });
}

async function startNodes(kind: RedisKind): Promise<{ url: string; clusterNodes: string | undefined; nodes: RedisNode[]; close: () => Promise<void> }> {
  if (kind === 'single') {
    const single: RedisProcess = await startRedis();
    const client = createRedis(single.url, 'command', { name: 'capacity-info' });
    return { url: single.url, clusterNodes: undefined, nodes: [{ name: 'redis', role: 'master', port: single.port, pid: single.pid, client }], close: () => single.close() };
  }
  const cluster: RedisCluster = await startRedisCluster({ nodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS });
  const masters = new Set((await cluster.masters()).map((n) => n.address));
  const nodes = cluster.nodes.map((n, i): RedisNode => {
    const role = masters.has(n.address) ? 'master' : 'replica';
    return { name: `${role}-${i}`, role, port: n.port, pid: n.pid, client: createRedis(`redis://${n.address}`, 'command', { name: 'capacity-info' }) };
  });
  return { url: `redis://${cluster.nodes[0]!.address}`, clusterNodes: cluster.seeds, nodes, close: () => cluster.close() };
}

export async function startStack(kind: RedisKind, o: CapacityOptions, log: (l: string) => void): Promise<Stack & { notes: string[]; connected: number }> {
  const redis = await startNodes(kind);
  const stack: Stack = { kind, ...redis, gateways: [], collectors: [], clients: [], baseline: [], close: async () => {} };
  stack.close = async () => {
    for (const c of stack.clients) await c.stop();
    for (const c of stack.collectors) await c.stop(8000);
    for (const g of stack.gateways) await g.stop(8000);
    for (const n of stack.nodes) await closeRedis(n.client).catch(() => undefined);
    await redis.close();
  };
  const notes: string[] = [];
  try {
    stack.baseline = await Promise.all(stack.nodes.map((n) => redisInfo(n.client)));
    // Collectors first: their writes alone are measured before any gateway reads (capacity.ts).
    const specs = collectorSpecs(o);
    const procs = Math.min(o.collectorProcs, specs.length);
    log(`capacity[${kind}]: ${o.servers} servers over ${specs.length} collectors in ${procs} processes, a sample every ${o.intervalMs} ms`);
    stack.collectors.push(...(await Promise.all(Array.from({ length: procs }, () => spawnTs('capacity-collectors-proc.ts')))));
    await Promise.all(stack.collectors.map((c) => c.next('ready', STARTUP_TIMEOUT_MS)));
    stack.collectors.forEach((child, p) =>
      child.send({ type: 'start', url: stack.url, clusterNodes: stack.clusterNodes, intervalMs: o.intervalMs, collectors: specs.filter((_, c) => c % procs === p) }),
    );
    for (const child of stack.collectors) await child.next('started', STARTUP_TIMEOUT_MS);
    return { ...stack, notes: [], connected: 0 };
  } catch (err) {
    await stack.close();
    throw err;
  }
}

/** Starts the gateways and the clients (after the collectors: clients subscribe to servers that exist). */
export async function startFrontEnd(stack: Stack & { notes: string[]; connected: number }, o: CapacityOptions, log: (l: string) => void): Promise<void> {
  const kind = stack.kind;
  const notes = stack.notes;
  stack.gateways.push(...(await Promise.all(Array.from({ length: o.gateways }, () => spawnTs('gateway-proc.ts')))));
  await Promise.all(stack.gateways.map((g) => g.next('ready', STARTUP_TIMEOUT_MS)));
  stack.gateways.forEach((gw) => gw.send({ type: 'start', redisUrl: stack.url, redisClusterNodes: stack.clusterNodes, clients: o.clients }));
  const ports: number[] = [];
  for (const gw of stack.gateways) ports.push(Number((await gw.next<{ type: string; port: number }>('listening', STARTUP_TIMEOUT_MS)).port));
  const specs = collectorSpecs(o);
  const clients = clientSpecs(o, specs, ports);
  log(`capacity[${kind}]: connecting ${o.clients} clients to ${o.gateways} gateways (ports ${ports.join(', ')}), ${o.metricsPerClient} servers' metrics each`);
  stack.clients.push(...(await Promise.all(Array.from({ length: o.clientProcs }, () => spawnTs('capacity-clients-proc.ts')))));
  await Promise.all(stack.clients.map((c) => c.next('ready', STARTUP_TIMEOUT_MS)));
  stack.clients.forEach((child, p) => child.send({ type: 'connect', clients: clients.filter((_, c) => c % o.clientProcs === p) }));
  let connected = 0;
  for (const child of stack.clients) {
    const r = await child.next<{ type: string; connected: number; failed: number; firstError: string | null }>('connected', 600_000);
    connected += r.connected;
    if (r.failed > 0) notes.push(`${r.failed} clients failed to connect or subscribe: ${r.firstError}`);
  }
  log(`capacity[${kind}]: ${connected} clients connected and subscribed`);
  stack.connected = connected;
}

/** Client index (as in clientSpecs) → which client process holds it and at which position there. */
export function clientAt(index: number, clientProcs: number): { proc: number; local: number } {
  return { proc: index % clientProcs, local: Math.floor(index / clientProcs) };
}

/** Subscribes the given clients to the fleet (their own filter, or the whole fleet). */
export async function subscribeFleet(stack: Stack, o: CapacityOptions, indexes: number[], whole: boolean): Promise<{ ok: number; failed: number; firstError: string | null }> {
  const byProc = stack.clients.map(() => [] as number[]);
  for (const i of indexes) {
    const at = clientAt(i, o.clientProcs);
    byProc[at.proc]!.push(at.local);
  }
  stack.clients.forEach((c, p) => c.send({ type: 'fleet', indexes: byProc[p], whole }));
  const out = { ok: 0, failed: 0, firstError: null as string | null };
  for (const c of stack.clients) {
    const r = await c.next<{ type: string; ok: number; failed: number; firstError: string | null }>('fleeted', 600_000);
    out.ok += r.ok;
    out.failed += r.failed;
    out.firstError ??= r.firstError;
  }
  return out;
}

async function sum<K extends string>(children: Child[], keys: readonly K[]): Promise<Record<K, number>> {
  children.forEach((c) => c.send({ type: 'count' }));
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const c of children) {
    const r = await c.next<{ type: string } & Record<string, unknown>>('count', 60_000);
    for (const k of keys) out[k] += Number(r[k] ?? 0);
  }
  return out;
}

export async function snapshot(stack: Stack): Promise<Snapshot> {
  const [collectors, clients, info] = await Promise.all([
    sum(stack.collectors, ['samples', 'ticks', 'late', 'failures', 'maxLagMs'] as const),
    sum(stack.clients, ['samples', 'fleetMessages', 'fleetRows', 'snapshotRows', 'bytes', 'disconnects'] as const),
    Promise.all(stack.nodes.map((n) => redisInfo(n.client))),
  ]);
  const cpu: Snapshot['cpu'] = {};
  const io: Snapshot['io'] = {};
  stack.nodes.forEach((n) => (cpu[`redis:${n.name}`] = n.pid === null ? null : processCpuMs(n.pid)));
  stack.gateways.forEach((g, i) => {
    cpu[`gateway:${i}`] = processCpuMs(g.pid);
    io[`gateway:${i}`] = processIo(g.pid);
  });
  stack.collectors.forEach((c, i) => (cpu[`collectors:${i}`] = processCpuMs(c.pid)));
  stack.clients.forEach((c, i) => (cpu[`clients:${i}`] = processCpuMs(c.pid)));
  cpu['bench'] = processCpuMs(process.pid);
  return { at: Date.now(), busyMs: machineBusyMs(), cpu, io, info, collectors: { ...collectors, lastError: null }, clients };
}

/** Servers whose keys each node serves (a replica: those of its master); one node holds them all on a single Redis. */
export async function serversPerNode(stack: Stack, servers: number): Promise<number[]> {
  if (stack.kind === 'single') return [servers];
  const ranges = (await stack.nodes[0]!.client.call('CLUSTER', 'SLOTS')) as Array<[number, number, ...Array<[string, number, string?]>]>;
  const slotToPorts = new Map<number, number[]>();
  for (const [from, to, ...holders] of ranges) for (let s = from; s <= to; s++) slotToPorts.set(s, holders.map((h) => Number(h[1])));
  const counts = new Map<number, number>();
  for (let i = 0; i < servers; i++) {
    for (const port of slotToPorts.get(keySlot(Keys.latest(serverId(i)))) ?? []) counts.set(port, (counts.get(port) ?? 0) + 1);
  }
  return stack.nodes.map((n) => counts.get(n.port) ?? 0);
}

/** XLEN of one server's metrics stream, through a client of the stack's kind. */
export async function streamLength(stack: Stack, id: string): Promise<number> {
  const r = createRedis(stack.url, 'command', { name: 'capacity-xlen', clusterNodes: stack.clusterNodes });
  try {
    return await r.xlen(Keys.metrics(id));
  } finally {
    await closeRedis(r);
  }
}
