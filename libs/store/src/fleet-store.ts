// The fleet summary's reads: every heartbeat (one ZRANGE), the registry's size and ids, and, for
// the servers that changed, their registry entries and latest samples in pipelined batches. The
// latest samples are per-server keys (hash-tagged `{<serverId>}`) read with one GET each, never
// one cross-slot MGET: under Redis Cluster a batch is regrouped by slot here, and only here.
import type { Redis } from 'ioredis';
import { Keys, ProcessInfoEvent, RegistryEntry, compile, parseJson } from '@vigil/protocol';
import { isCluster } from './connection.js';
import { getMany } from './slot-calls.js';

const checkEntry = compile(RegistryEntry);
const checkLatest = compile(ProcessInfoEvent);

/** Ids per HMGET and GETs per pipeline: big enough to amortize a round trip, small enough not to stall Redis. */
export const FLEET_READ_BATCH = 1000;

/** One server as read: its raw registry entry and latest sample (null: none). */
export type FleetRecord = { id: string; entry: string | null; latest: string | null };

/** What a fleet row takes from a latest sample. */
export type LatestFigures = { cpu: number; rss: number; uptime: number; position: string; at: number | null };

export class FleetStore {
  readonly #redis: Redis;
  readonly #onCorrupt: (what: string) => void;

  constructor(redis: Redis, options: { onCorrupt?: (what: string) => void } = {}) {
    this.#redis = redis;
    this.#onCorrupt = options.onCorrupt ?? (() => {});
  }

  /** Every heartbeat (server id → epoch ms) and the number of registry entries, in one round trip. */
  async heartbeats(): Promise<{ beats: Map<string, number>; registered: number }> {
    if (isCluster(this.#redis)) {
      // Two keys, two slots: two calls sent together (a cluster pipeline stays on one node).
      const [flat, registered] = await Promise.all([this.#redis.zrange(Keys.heartbeats, '0', '-1', 'WITHSCORES'), this.#redis.hlen(Keys.registry)]);
      return { beats: beatsOf(flat), registered };
    }
    const res = await this.#redis.pipeline().zrange(Keys.heartbeats, '0', '-1', 'WITHSCORES').hlen(Keys.registry).exec();
    const [beatsErr, flat] = res?.[0] ?? [new Error('no reply'), null];
    const [lenErr, registered] = res?.[1] ?? [new Error('no reply'), null];
    if (beatsErr) throw beatsErr;
    if (lenErr) throw lenErr;
    return { beats: beatsOf(flat as string[]), registered: registered as number };
  }

  /** The id of every registry entry (read when the registry's size says it gained or lost one). */
  registeredIds(): Promise<string[]> {
    return this.#redis.hkeys(Keys.registry);
  }

  /** The raw registry entry and latest sample of each id, in order. */
  async read(ids: readonly string[]): Promise<FleetRecord[]> {
    const batches: Promise<FleetRecord[]>[] = [];
    for (let at = 0; at < ids.length; at += FLEET_READ_BATCH) batches.push(this.#readBatch(ids.slice(at, at + FLEET_READ_BATCH)));
    return (await Promise.all(batches)).flat();
  }

  /** The registry entry in `raw`, checked; null (and reported) when it is not one. */
  parseEntry(id: string, raw: string): RegistryEntry | null {
    const value = parseJson(raw);
    if (checkEntry.check(value) && value.serverId === id) return value;
    this.#onCorrupt(`${Keys.registry} ${id}`);
    return null;
  }

  /** The figures a row shows from the latest sample in `raw`; null (and reported) when it is not one. */
  parseLatest(id: string, raw: string): LatestFigures | null {
    const value = parseJson(raw);
    if (!checkLatest.check(value) || value.serverId !== id) {
      this.#onCorrupt(Keys.latest(id));
      return null;
    }
    const p = value.processInfo;
    const at = Date.parse(p.timestamp);
    return { cpu: p.cpu, rss: p.memory.rss, uptime: p.uptime, position: value.position, at: Number.isFinite(at) ? at : null };
  }

  async #readBatch(ids: string[]): Promise<FleetRecord[]> {
    if (isCluster(this.#redis)) {
      const [entries, latest] = await Promise.all([this.#redis.hmget(Keys.registry, ...ids), getMany(this.#redis, ids.map((id) => Keys.latest(id)))]);
      return ids.map((id, i) => ({ id, entry: entries[i] ?? null, latest: latest[i] ?? null }));
    }
    const pipeline = this.#redis.pipeline();
    pipeline.hmget(Keys.registry, ...ids);
    for (const id of ids) pipeline.get(Keys.latest(id));
    const res = await pipeline.exec();
    if (!res) throw new Error('fleet read: no reply');
    const [entriesErr, entries] = res[0]!;
    if (entriesErr) throw entriesErr;
    return ids.map((id, i) => {
      const [err, latest] = res[i + 1]!;
      if (err) throw err;
      return { id, entry: (entries as (string | null)[])[i] ?? null, latest: (latest as string | null) ?? null };
    });
  }
}

/** ZRANGE … WITHSCORES (member, score, member, score, …) as member → score. */
function beatsOf(list: readonly string[]): Map<string, number> {
  const beats = new Map<string, number>();
  for (let i = 0; i + 1 < list.length; i += 2) beats.set(list[i]!, Number(list[i + 1]));
  return beats;
}
