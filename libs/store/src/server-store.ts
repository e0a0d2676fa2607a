// Reads what collectors wrote: registry with computed status, latest samples, paged history.
// Everything read from Redis is parsed defensively and checked against the protocol schema;
// an entry that fails is skipped and reported, never passed on.
import type { Redis } from 'ioredis';
import {
  Keys,
  ProcessInfoBody,
  ProcessInfoEvent,
  RegistryEntry,
  STREAM_FIELD,
  compile,
  parseJson,
  type ServerStatus,
  type ServerView,
} from '@vigil/protocol';
import { getMany } from './slot-calls.js';
import { pageStream } from './stream-page.js';

const checkEntry = compile(RegistryEntry);
const checkLatest = compile(ProcessInfoEvent);
const checkBody = compile(ProcessInfoBody);

/**
 * The staleness rule, for REST and for the gateways' sweep alike: a server is stale when its
 * collector has not heartbeated within `staleAfterMs`, unless it exited or was stopped (those
 * stay what they are: nobody is expected to heartbeat for them).
 */
export function isStale(status: ServerStatus, heartbeatAt: number | null, staleAfterMs: number, now: number): boolean {
  return status !== 'exited' && status !== 'stopped' && (heartbeatAt === null || now - heartbeatAt > staleAfterMs);
}

export type HistoryPage = {
  items: ProcessInfoEvent[];
  /** Pass as `before` to get the next older page; null when there is none. */
  next: string | null;
};

export class ServerStore {
  readonly #redis: Redis;
  readonly #onCorrupt: (what: string) => void;
  readonly #now: () => number;

  constructor(redis: Redis, options: { onCorrupt?: (what: string) => void; now?: () => number } = {}) {
    this.#redis = redis;
    this.#onCorrupt = options.onCorrupt ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  async latest(serverId: string): Promise<ProcessInfoEvent | null> {
    const raw = await this.#redis.get(Keys.latest(serverId));
    return raw === null ? null : this.#parseLatest(raw, serverId);
  }

  async list(): Promise<ServerView[]> {
    const [entries, beats] = await Promise.all([
      this.#redis.hgetall(Keys.registry),
      this.#redis.zrange(Keys.heartbeats, '0', '-1', 'WITHSCORES'),
    ]);
    const heartbeat = new Map<string, number>();
    for (let i = 0; i + 1 < beats.length; i += 2) heartbeat.set(beats[i]!, Number(beats[i + 1]));
    const ids = Object.keys(entries).sort();
    const latest = await getMany(this.#redis, ids.map((id) => Keys.latest(id)));
    const out: ServerView[] = [];
    ids.forEach((id, i) => {
      const view = this.#view(id, entries[id]!, heartbeat.get(id), latest[i] ?? null);
      if (view) out.push(view);
    });
    return out;
  }

  async get(serverId: string): Promise<ServerView | null> {
    const [entry, beat, latest] = await Promise.all([
      this.#redis.hget(Keys.registry, serverId),
      this.#redis.zscore(Keys.heartbeats, serverId),
      this.#redis.get(Keys.latest(serverId)),
    ]);
    if (entry === null) return null;
    return this.#view(serverId, entry, beat === null ? undefined : Number(beat), latest);
  }

  /** Heartbeat age per server, for the stale sweep: null when there is no heartbeat at all. */
  async heartbeats(serverIds: string[]): Promise<Map<string, { at: number | null; staleAfterMs: number | null; status: ServerStatus | null }>> {
    const out = new Map<string, { at: number | null; staleAfterMs: number | null; status: ServerStatus | null }>();
    if (serverIds.length === 0) return out;
    // Two keys, two slots on a Redis Cluster: two commands sent together, not one pipeline.
    const [scores, entries] = (await Promise.all([this.#redis.zmscore(Keys.heartbeats, ...serverIds), this.#redis.hmget(Keys.registry, ...serverIds)])) as [
      (string | null)[],
      (string | null)[],
    ];
    serverIds.forEach((id, i) => {
      const score = scores[i];
      const entry = entries[i] == null ? null : this.#parseEntry(entries[i]!, id);
      out.set(id, {
        at: score == null ? null : Number(score),
        staleAfterMs: entry?.staleAfterMs ?? null,
        status: entry?.status ?? null,
      });
    });
    return out;
  }

  /** The registry entries of these servers (those that have a valid one), in one call. */
  async entries(serverIds: readonly string[]): Promise<Map<string, RegistryEntry>> {
    const out = new Map<string, RegistryEntry>();
    if (serverIds.length === 0) return out;
    const raw = await this.#redis.hmget(Keys.registry, ...serverIds);
    serverIds.forEach((id, i) => {
      const entry = raw[i] == null ? null : this.#parseEntry(raw[i]!, id);
      if (entry) out.set(id, entry);
    });
    return out;
  }

  /**
   * A page of metrics history, oldest first. With `before`, the page ends just before that
   * position (paging back in time); with `after`, it starts just after it (resuming forward).
   */
  metrics(serverId: string, query: { before?: string; after?: string; limit: number }): Promise<HistoryPage> {
    return pageStream(this.#redis, Keys.metrics(serverId), query, (id, fields) => {
      const at = fields.indexOf(STREAM_FIELD);
      const body = at >= 0 ? parseJson(fields[at + 1] ?? '') : undefined;
      if (checkBody.check(body) && body.serverId === serverId) return { ...body, position: id };
      this.#onCorrupt(`${Keys.metrics(serverId)} ${id}`);
      return null;
    });
  }

  #view(serverId: string, rawEntry: string, heartbeatAt: number | undefined, rawLatest: string | null): ServerView | null {
    const entry = this.#parseEntry(rawEntry, serverId);
    if (!entry) return null;
    const stale = isStale(entry.status, heartbeatAt ?? null, entry.staleAfterMs, this.#now());
    return {
      ...entry,
      status: stale ? 'stale' : entry.status,
      lastHeartbeatAt: heartbeatAt === undefined ? null : new Date(heartbeatAt).toISOString(),
      latest: rawLatest === null ? null : this.#parseLatest(rawLatest, serverId),
    };
  }

  #parseEntry(raw: string, serverId: string): RegistryEntry | null {
    const value = parseJson(raw);
    if (checkEntry.check(value) && value.serverId === serverId) return value;
    this.#onCorrupt(`${Keys.registry} ${serverId}`);
    return null;
  }

  #parseLatest(raw: string, serverId: string): ProcessInfoEvent | null {
    const value = parseJson(raw);
    if (checkLatest.check(value) && value.serverId === serverId) return value;
    this.#onCorrupt(Keys.latest(serverId));
    return null;
  }
}
