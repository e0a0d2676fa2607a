// The fan-out publisher, in its own process: one sample per server per tick, at a rate the parent sets.
// The servers are split among K simulated collectors whose ticks are evenly staggered over the period
// (collectors on different hosts are not in phase); K = 1 publishes every server at once.
// - vigil: the collector's publish path. Each tick is ONE BatchWriter.write (Lua: XADD + SET latest +
//   SPUBLISH in the sharded adapter's wire format, plus registry and heartbeats), as the collector does.
// - baseline: the stock way. A Socket.IO server with the sharded adapter and no clients does
//   `io.of(nsp).to(room).emit('process:info', payload)` once per server per tick.
// Both send the same body (bench/lib/payload.ts); `sentAt` is the tick's time on the shared monotonic clock.
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { DEFAULT_HISTORY_MAX_LEN } from '@vigil/collector';
import { Keys, NAMESPACE, ServerEvents, metricsRoom, type RegistryEntry } from '@vigil/protocol';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type AppendOp, type BroadcastFrame, type Batch } from '@vigil/store';
import { monoNow, onParentMessage, tellParent } from './lib/children.js';
import { benchBody, benchServerId } from './lib/payload.js';

/** vigil writes in flight at once; beyond that the publisher waits (and falls behind, which is reported). */
const MAX_IN_FLIGHT = 16;

/** Publishes one sample for each server of `servers` (one collector's tick). */
type PublishTick = (servers: readonly string[], sentAt: number, n: number) => Promise<void>;
/** `register`: what a collector writes when it starts (gateways refuse subscriptions to unknown servers). */
type Publisher = { register(): Promise<void>; publish: PublishTick; close(): Promise<void> };

function vigilPublisher(redisUrl: string, all: readonly string[]): Publisher {
  const redis = createRedis(redisUrl, 'command', { name: 'bench-publisher' });
  const writer = new BatchWriter(redis);
  const uid = 'vigil-collector:bench';
  const frames = new Map<string, BroadcastFrame>(
    all.map((id) => [id, broadcastFrame(uid, NAMESPACE, metricsRoom(id), ServerEvents.processInfo)]),
  );
  const startedAt = new Date().toISOString();
  const registry = (serverId: string, iso: string): RegistryEntry => ({
    serverId,
    targetId: serverId,
    host: 'bench-host',
    collectorId: 'bench',
    pid: 40_000,
    command: '/usr/bin/bench-target',
    startedAt,
    status: 'running',
    restarts: 0,
    intervalMs: 1000,
    staleAfterMs: 60_000,
    updatedAt: iso,
  });
  return {
    async register() {
      const now = Date.now();
      const iso = new Date(now).toISOString();
      await writer.write({
        appends: [],
        registry: all.map((serverId) => ({ serverId, entry: JSON.stringify(registry(serverId, iso)) })),
        heartbeats: all.map((serverId) => ({ serverId, at: now })),
      });
    },
    async publish(servers, sentAt, n) {
      const now = Date.now();
      const iso = new Date(now).toISOString();
      const appends: AppendOp[] = servers.map((serverId) => ({
        stream: Keys.metrics(serverId),
        maxLen: DEFAULT_HISTORY_MAX_LEN,
        latestKey: Keys.latest(serverId),
        body: JSON.stringify(benchBody(serverId, n, sentAt, iso)),
        frame: frames.get(serverId)!,
      }));
      const tick: Batch = {
        appends,
        registry: servers.map((serverId) => ({ serverId, entry: JSON.stringify(registry(serverId, iso)) })),
        heartbeats: servers.map((serverId) => ({ serverId, at: now })),
      };
      await writer.write(tick);
    },
    close: () => closeRedis(redis),
  };
}

function baselinePublisher(redisUrl: string): Publisher {
  const pub = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  const io = new Server({ serveClient: false });
  io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }));
  const nsp = io.of(NAMESPACE);
  let seq = 0;
  return {
    async register() {},
    async publish(servers, sentAt, n) {
      const now = Date.now();
      const iso = new Date(now).toISOString();
      for (const serverId of servers) {
        // Same size as vigil's payload, whose position is the stream id Redis assigns.
        nsp.to(metricsRoom(serverId)).emit(ServerEvents.processInfo, { ...benchBody(serverId, n, sentAt, iso), position: `${now}-${seq++ % 1000}` });
      }
    },
    async close() {
      // Not io.close(): this server was never attached to an engine, and close() assumes one.
      await nsp.adapter.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
}

type Run = { ratePerSec: number; from: number; to: number; until: number };
type RunResult = {
  /** Collector ticks published (each covers one group of servers). */
  ticks: number;
  /** Samples published in the measuring window, per server index. */
  samplesInWindow: number[];
  maxLagMs: number;
  failures: number;
  lastError: string | null;
};

async function runAtRate(publisher: Publisher, groups: ReadonlyArray<readonly number[]>, names: readonly string[], run: Run, n0: number) {
  const step = 1000 / run.ratePerSec / groups.length;
  const t0 = monoNow();
  const inFlight = new Set<Promise<void>>();
  const result: RunResult = { ticks: 0, samplesInWindow: names.map(() => 0), maxLagMs: 0, failures: 0, lastError: null };
  const groupNames = groups.map((g) => g.map((i) => names[i]!));
  let n = n0;
  for (let j = 0; j < 10_000_000; j++) {
    const due = t0 + j * step;
    if (due >= run.until) break;
    const wait = due - monoNow();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const sentAt = monoNow();
    if (sentAt >= run.until) break;
    result.maxLagMs = Math.max(result.maxLagMs, sentAt - due);
    const g = j % groups.length;
    const p: Promise<void> = publisher
      .publish(groupNames[g]!, sentAt, n++)
      .catch((err: Error) => {
        result.failures++;
        result.lastError = err.message;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    result.ticks++;
    if (sentAt >= run.from && sentAt < run.to) for (const i of groups[g]!) result.samplesInWindow[i]!++;
  }
  await Promise.all(inFlight);
  return { ...result, maxLagMs: Math.round(result.maxLagMs * 100) / 100, n };
}

let publisher: Publisher | null = null;
let names: string[] = [];
let groups: number[][] = [];
let n = 0;

onParentMessage(
  async (m) => {
    if (m.type === 'start') {
      names = Array.from({ length: Number(m.servers) }, (_, i) => benchServerId(i));
      const k = Math.max(1, Math.min(names.length, Number(m.collectors)));
      groups = Array.from({ length: k }, (_, g) => names.map((_, i) => i).filter((i) => i % k === g));
      publisher = m.kind === 'vigil' ? vigilPublisher(String(m.redisUrl), names) : baselinePublisher(String(m.redisUrl));
      await publisher.register();
      tellParent({ type: 'started' });
    } else if (m.type === 'run' && publisher) {
      const r = await runAtRate(publisher, groups, names, m.run as Run, n);
      n = r.n;
      tellParent({ type: 'ran', result: r });
    }
  },
  async () => {
    await publisher?.close();
  },
);
tellParent({ type: 'ready' });
