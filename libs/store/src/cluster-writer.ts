// BatchWriter's write on a Redis Cluster, where no call may cross slots. A batch is split:
//   1. store: the events grouped by the slot of their keys (every key of one server shares
//      `{<serverId>}`, so a server is one group), one APPEND_AND_PUBLISH call per group in
//      store-only mode, which answers each event's position;
//   2. registry and heartbeats: one HSET and one ZADD, each a single key (its own slot);
//   3. broadcast: each stored event to its room's channel through ShardPublisher, once and in
//      order per channel, in the channel's own slot.
// All groups go out together (ioredis sends each to the node that serves its slot), so a batch
// still costs about one round trip per phase. Events of one group are stored atomically; groups are
// not atomic with each other: when some fail, the events that were stored are remembered (by
// their AppendOp object) and skipped when the same batch is written again, so a caller's retry
// stores nothing twice.
import type { Redis } from 'ioredis';
import { ErrorCodes, Keys, VigilError } from '@vigil/protocol';
import { StreamBytes, encodeAppends, type AppendOp, type Batch, type WithAppend } from './append-args.js';
import { bodyText } from './byte-lines.js';
import { keySlot } from './key-slot.js';
import { ShardPublisher, type ShardMessage } from './shard-publisher.js';

export class ClusterWriter {
  readonly #redis: Redis;
  readonly #publisher: ShardPublisher;
  /** Events stored by a write that failed elsewhere, with their position: not stored again on a retry. */
  readonly #stored = new WeakMap<AppendOp, string>();
  #anyStored = false;
  readonly #streams = new StreamBytes();

  constructor(redis: Redis) {
    this.#redis = redis;
    this.#publisher = new ShardPublisher(redis);
  }

  get broadcasts(): { pending: number; dropped: number } {
    return { pending: this.#publisher.pending, dropped: this.#publisher.dropped };
  }

  async write(batch: Batch, positions: boolean): Promise<string[]> {
    const ids: string[] = new Array<string>(batch.appends.length).fill('');
    const groups = new Map<number, number[]>();
    batch.appends.forEach((op, i) => {
      const known = this.#anyStored ? this.#stored.get(op) : undefined;
      if (known !== undefined) {
        ids[i] = known;
        return;
      }
      const slot = keySlot(op.stream);
      let g = groups.get(slot);
      if (!g) groups.set(slot, (g = []));
      g.push(i);
    });
    // Every group is encoded (and checked) before any is sent: a refused batch writes nothing,
    // as on one node. Encoding a group as it is sent would store the groups before a refused one,
    // unremembered (a retry would store them twice) and never broadcast.
    const encoded: Array<[number[], Parameters<WithAppend['vigilAppend']>]> = [];
    for (const indexes of groups.values()) encoded.push([indexes, encodeAppends(indexes.map((i) => batch.appends[i]!), '2', this.#streams)]);
    const calls: Array<Promise<unknown>> = [];
    for (const [indexes, args] of encoded) {
      const call = (this.#redis as unknown as WithAppend).vigilAppend(...args).then((reply) => {
        const got = Array.isArray(reply) ? reply : [];
        indexes.forEach((i, k) => (ids[i] = String(got[k] ?? '')));
      });
      calls.push(call);
    }
    if (batch.registry.length > 0) {
      const flat: string[] = [];
      for (const r of batch.registry) flat.push(r.serverId, r.entry);
      calls.push(this.#redis.hset(Keys.registry, ...flat));
    }
    if (batch.heartbeats.length > 0) {
      const flat: string[] = [];
      for (const h of batch.heartbeats) flat.push(String(h.at), h.serverId);
      calls.push(this.#redis.zadd(Keys.heartbeats, ...flat));
    }
    const results = await Promise.allSettled(calls);
    // Broadcast what was stored, whatever else failed: a stored event is never left unsent.
    const messages: ShardMessage[] = [];
    batch.appends.forEach((op, i) => {
      const id = ids[i]!;
      if (id === '' || this.#stored.get(op) === id) return;
      const withPosition = `${bodyText(op.body).slice(0, -1)},"position":"${id}"}`;
      messages.push({ channel: op.frame.channel, stream: op.stream, position: id, message: op.frame.prefix + withPosition + op.frame.suffix });
    });
    await this.#publisher.publish(messages);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      batch.appends.forEach((op, i) => {
        if (ids[i] !== '') {
          this.#stored.set(op, ids[i]!);
          this.#anyStored = true;
        }
      });
      const err = failed.reason as Error;
      throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `batch write failed: ${err?.message ?? String(err)}`, { cause: err });
    }
    return positions ? ids : [];
  }
}
