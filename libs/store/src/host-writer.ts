// Writes one host sample: the history entry, the latest value and the broadcast to
// `system-metrics-<host>` in BatchWriter's one Lua call (so a sample is stored and broadcast once,
// with its stream id as the position), then the host registry (who sampled the host, and when).
import type { Redis } from 'ioredis';
import { ErrorCodes, HOST_RETENTION_MS, HostKeys, NAMESPACE, ServerEvents, VigilError, systemMetricsRoom, type SystemMetricsBody } from '@vigil/protocol';
import { broadcastFrame, type BroadcastFrame } from './adapter-wire.js';
import { BatchWriter } from './batch-writer.js';

export type HostWriterOptions = {
  /** The adapter uid of the writer (any string that is not a gateway's). */
  uid: string;
  /** Approximate bound of the host's history stream. */
  maxLen: number;
};

export class HostWriter {
  readonly #redis: Redis;
  readonly #batch: BatchWriter;
  readonly #options: HostWriterOptions;
  #frame: { host: string; frame: BroadcastFrame } | null = null;

  constructor(redis: Redis, options: HostWriterOptions) {
    this.#redis = redis;
    this.#batch = new BatchWriter(redis);
    this.#options = options;
  }

  /** Writes the sample; resolves with its position. `at`: epoch ms, the registry's last-seen time. */
  async write(body: SystemMetricsBody, at: number): Promise<string> {
    const { host, collectorId } = body;
    const [position] = await this.#batch.write({
      appends: [{ stream: HostKeys.metrics(host), maxLen: this.#options.maxLen, latestKey: HostKeys.latest(host), body: JSON.stringify(body), frame: this.#frameOf(host) }],
      registry: [],
      heartbeats: [],
    });
    let results: Array<[Error | null, unknown]>;
    try {
      // Every key of a host lives HOST_RETENTION_MS past its last sample, and hosts not sampled for
      // that long leave the registry: a fleet whose host names change does not grow Redis forever.
      // Two pipelines, each within one slot (the registry; the host's own keys), sent together.
      const [registry, own] = await Promise.all([
        this.#redis
          .pipeline()
          .zadd(HostKeys.registry, at, host)
          .zremrangebyscore(HostKeys.registry, '-inf', `(${at - HOST_RETENTION_MS}`)
          .exec(),
        this.#redis
          .pipeline()
          .hset(HostKeys.collectors(host), collectorId, at)
          .pexpire(HostKeys.collectors(host), HOST_RETENTION_MS)
          .pexpire(HostKeys.latest(host), HOST_RETENTION_MS)
          .pexpire(HostKeys.metrics(host), HOST_RETENTION_MS)
          .exec(),
      ]);
      if (!registry || !own) throw new Error('no reply');
      results = [...registry, ...own];
    } catch (err) {
      throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `host registry write failed: ${(err as Error).message}`, { cause: err });
    }
    const failed = results.find(([err]) => err)?.[0];
    if (failed) throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `host registry write failed: ${failed.message}`);
    if (position === undefined) throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, 'host sample write returned no position');
    return position;
  }

  #frameOf(host: string): BroadcastFrame {
    if (this.#frame?.host !== host) {
      this.#frame = { host, frame: broadcastFrame(this.#options.uid, NAMESPACE, systemMetricsRoom(host), ServerEvents.systemMetricsUpdate) };
    }
    return this.#frame.frame;
  }
}
