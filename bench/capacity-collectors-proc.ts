// Collectors for the capacity benchmark, several in one process: each has its own Redis connection
// (a cluster client on a cluster) and its own BatchWriter, and writes its servers' tick exactly as
// services/collector's publisher does: one write per tick with a sample per server (metrics stream
// bounded to the collector's default history, latest sample, broadcast to the server's room),
// a heartbeat per server, registry entries when new and every REGISTRY_REFRESH_MS, no positions
// read back. The samples are synthetic (no process is sampled); their JSON has the sampler's shape.
// The collectors' ticks are staggered evenly over the interval, as collectors on different hosts are.
// Messages: `start { url, clusterNodes?, intervalMs, collectors: [{ id, host, servers, offsetMs }] }`
// → `started`; `count` → `count { samples, ticks, late, failures, lastError, maxLagMs }`; `stop`.
import { DEFAULT_HISTORY_MAX_LEN, ProcessInfoBody, processInfoHead, processInfoTail, type Observation } from '@vigil/collector';
import { Keys, NAMESPACE, ServerEvents, metricsRoom, type RegistryEntry } from '@vigil/protocol';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type AppendOp, type Batch } from '@vigil/store';
import type { Redis } from 'ioredis';
import { onParentMessage, tellParent } from './lib/children.js';

/** services/collector/src/publisher.ts: the longest an unchanged registry entry goes unwritten. */
const REGISTRY_REFRESH_MS = 15_000;
/** No run lasts longer: the loops end by themselves if the parent never says stop. */
const MAX_RUN_MS = 30 * 60_000;
const NO_POSITIONS = { positions: false };

export type CollectorSpec = { id: string; host: string; servers: string[]; offsetMs: number };

type Counts = { samples: number; ticks: number; late: number; failures: number; lastError: string | null; maxLagMs: number };

const counts: Counts = { samples: 0, ticks: 0, late: 0, failures: 0, lastError: null, maxLagMs: 0 };
const connections: Redis[] = [];
const loops: Promise<void>[] = [];
let stopping = false;
let wake: Array<() => void> = [];

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      wake = wake.filter((w) => w !== done);
      resolve();
    }
    wake.push(done);
  });

/** A sample as the collector writes it (its ProcessInfoBody), with made-up figures. */
function sampleBody(head: Buffer, n: number, i: number, at: number, iso: string): ProcessInfoBody {
  const cpu = ((n * 7919 + i * 104_729) % 10_000) / 100;
  const rss = 60_000_000 + ((n * 15_485_863 + i * 7919) % 40_000_000);
  const uptimeMs = (3600 + n) * 1000;
  const o: Observation = { pid: 20_000 + i, key: '', startKey: 0, cpu, rss, elapsedMs: uptimeMs, at, startedAt: at - uptimeMs, cpuTimeMs: undefined };
  return new ProcessInfoBody(head, o, processInfoTail(at, iso));
}

function registryEntry(c: CollectorSpec, serverId: string, i: number, intervalMs: number, startedAt: string, iso: string): RegistryEntry {
  return {
    serverId,
    targetId: serverId,
    host: c.host,
    collectorId: c.id,
    pid: 20_000 + i,
    command: `/usr/bin/app --name ${serverId}`,
    startedAt,
    status: 'running',
    restarts: 0,
    intervalMs,
    staleAfterMs: Math.max(3 * intervalMs, 1000),
    updatedAt: iso,
  };
}

/** One collector: ticks until stopped (or MAX_RUN_MS), one write at a time; a tick that overran makes the next one late. */
async function runCollector(c: CollectorSpec, url: string, clusterNodes: string | undefined, intervalMs: number, t0: number): Promise<void> {
  const redis = createRedis(url, 'command', { name: c.id, clusterNodes });
  connections.push(redis);
  const writer = new BatchWriter(redis);
  const uid = `vigil-collector:${c.id}`;
  const per = c.servers.map((serverId) => ({
    serverId,
    head: processInfoHead(serverId),
    stream: Keys.metrics(serverId),
    latest: Keys.latest(serverId),
    frame: broadcastFrame(uid, NAMESPACE, metricsRoom(serverId), ServerEvents.processInfo),
  }));
  const startedAt = new Date(Date.now() - 3_600_000).toISOString();
  let registeredAt = -Infinity;
  const end = t0 + MAX_RUN_MS;
  for (let n = 0; !stopping && n < MAX_RUN_MS / intervalMs + 1; n++) {
    const due = t0 + c.offsetMs + n * intervalMs;
    if (due >= end) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    else if (n > 0) counts.late++;
    if (stopping) break;
    const at = Date.now();
    counts.maxLagMs = Math.max(counts.maxLagMs, at - due);
    const iso = new Date(at).toISOString();
    const appends: AppendOp[] = per.map((s, i) => ({ stream: s.stream, maxLen: DEFAULT_HISTORY_MAX_LEN, latestKey: s.latest, body: sampleBody(s.head, n, i, at, iso), frame: s.frame }));
    const refresh = at - registeredAt >= REGISTRY_REFRESH_MS;
    const tick: Batch = {
      appends,
      registry: refresh ? per.map((s, i) => ({ serverId: s.serverId, entry: JSON.stringify(registryEntry(c, s.serverId, i, intervalMs, startedAt, iso)) })) : [],
      heartbeats: per.map((s) => ({ serverId: s.serverId, at })),
    };
    try {
      await writer.write(tick, NO_POSITIONS);
      if (refresh) registeredAt = at;
      counts.samples += appends.length;
      counts.ticks++;
    } catch (err) {
      counts.failures++;
      counts.lastError = (err as Error).message;
    }
  }
}

/** Registers every server (registry entries and heartbeats, as a collector's first tick does) before any client subscribes. */
async function register(specs: CollectorSpec[], url: string, clusterNodes: string | undefined, intervalMs: number): Promise<void> {
  const redis = createRedis(url, 'command', { name: 'capacity-register', clusterNodes });
  try {
    const writer = new BatchWriter(redis);
    const now = Date.now();
    const iso = new Date(now).toISOString();
    for (const c of specs) {
      await writer.write(
        {
          appends: [],
          registry: c.servers.map((s, i) => ({ serverId: s, entry: JSON.stringify(registryEntry(c, s, i, intervalMs, iso, iso)) })),
          heartbeats: c.servers.map((serverId) => ({ serverId, at: now })),
        },
        NO_POSITIONS,
      );
    }
  } finally {
    await closeRedis(redis);
  }
}

onParentMessage(
  async (m) => {
    if (m.type === 'start') {
      const specs = m.collectors as CollectorSpec[];
      const url = String(m.url);
      const clusterNodes = typeof m.clusterNodes === 'string' ? m.clusterNodes : undefined;
      const intervalMs = Number(m.intervalMs);
      await register(specs, url, clusterNodes, intervalMs);
      const t0 = Date.now();
      for (const c of specs) {
        loops.push(
          runCollector(c, url, clusterNodes, intervalMs, t0).catch((err: Error) => {
            counts.failures++;
            counts.lastError = err.message;
          }),
        );
      }
      tellParent({ type: 'started' });
    } else if (m.type === 'count') {
      tellParent({ type: 'count', ...counts });
    }
  },
  async () => {
    stopping = true;
    for (const w of [...wake]) w();
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
    await Promise.all(connections.map((r) => closeRedis(r).catch(() => undefined)));
  },
);
tellParent({ type: 'ready' });
