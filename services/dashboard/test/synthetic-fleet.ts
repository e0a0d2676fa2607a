// A synthetic fleet for browser tests: thousands of servers written to Redis exactly as collectors
// write them (BatchWriter: a sample each, with its history entry, latest slot and room broadcast,
// a registry entry and a heartbeat), in batches of BATCH servers per round trip.
import { Keys, NAMESPACE, ServerEvents, metricsRoom, type ProcessInfoBody, type RegistryEntry, type ServerStatus } from '@vigil/protocol';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type Batch } from '@vigil/store';

const BATCH = 1000;
const METRICS_MAX_LEN = 100;

export type SyntheticServer = { index: number; status?: ServerStatus; cpu?: number };

export class SyntheticFleet {
  readonly #redis;
  readonly #writer;

  constructor(redisUrl: string) {
    // As a collector connects: a write waits for Redis however busy the machine is, rather than
    // failing after the 2 s a gateway's request gives a command (a 1,000-server batch on a busy CI
    // machine took longer).
    this.#redis = createRedis(redisUrl, 'publisher');
    this.#writer = new BatchWriter(this.#redis);
  }

  /** `fleet-00042`: ids that sort in index order. */
  static id(index: number): string {
    return `fleet-${String(index).padStart(5, '0')}`;
  }

  static host(index: number): string {
    return `rack-${index % 40}`;
  }

  static collector(index: number): string {
    return `col-${index % 100}`;
  }

  /** Registers servers 0 … count-1, each with one sample; `statusOf` says which are not running. */
  async register(count: number, statusOf: (index: number) => ServerStatus = () => 'running'): Promise<void> {
    for (let from = 0; from < count; from += BATCH) {
      const servers: SyntheticServer[] = [];
      for (let i = from; i < Math.min(count, from + BATCH); i++) servers.push({ index: i, status: statusOf(i), cpu: (i % 100) + 0.5 });
      await this.write(servers);
    }
  }

  /** One new sample (and heartbeat) per server given, in one round trip. */
  async write(servers: SyntheticServer[]): Promise<void> {
    const now = Date.now();
    const iso = new Date(now).toISOString();
    const batch: Batch = { appends: [], registry: [], heartbeats: [] };
    for (const s of servers) {
      const serverId = SyntheticFleet.id(s.index);
      const body: ProcessInfoBody = {
        serverId,
        processInfo: { pid: 10_000 + s.index, cpu: s.cpu ?? 1, memory: { rss: 50_000_000 + s.index * 1000, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: 3600 + s.index, timestamp: iso },
        timestamp: iso,
      };
      batch.appends.push({
        stream: Keys.metrics(serverId),
        maxLen: METRICS_MAX_LEN,
        latestKey: Keys.latest(serverId),
        body: JSON.stringify(body),
        frame: broadcastFrame('synthetic-fleet', NAMESPACE, metricsRoom(serverId), ServerEvents.processInfo),
      });
      const entry: RegistryEntry = {
        serverId,
        targetId: serverId,
        host: SyntheticFleet.host(s.index),
        collectorId: SyntheticFleet.collector(s.index),
        pid: 10_000 + s.index,
        command: null,
        startedAt: iso,
        status: s.status ?? 'running',
        restarts: 0,
        intervalMs: 1000,
        // No heartbeat loop needed: nothing turns stale during a test.
        staleAfterMs: 3_600_000,
        updatedAt: iso,
      };
      batch.registry.push({ serverId, entry: JSON.stringify(entry) });
      batch.heartbeats.push({ serverId, at: now });
    }
    await this.#writer.write(batch, { positions: false });
  }

  close(): Promise<void> {
    return closeRedis(this.#redis);
  }
}
