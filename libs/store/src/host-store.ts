// Reads what collectors wrote about hosts: the host registry, each host's latest sample and its
// paged history. Everything read from Redis is checked against the protocol schema; an entry that
// fails is skipped and reported, never passed on.
import type { Redis } from 'ioredis';
import {
  HOST_MAX_COLLECTORS,
  HOSTS_LIST_MAX,
  HostKeys,
  STREAM_FIELD,
  SystemMetricsBody,
  SystemMetricsEvent,
  compile,
  hostSummary,
  parseJson,
  type HostView,
} from '@vigil/protocol';
import { pageStream, type StreamPage } from './stream-page.js';

const checkLatest = compile(SystemMetricsEvent);
const checkBody = compile(SystemMetricsBody);

export type HostPage = StreamPage<SystemMetricsEvent>;

export class HostStore {
  readonly #redis: Redis;
  readonly #onCorrupt: (what: string) => void;

  constructor(redis: Redis, options: { onCorrupt?: (what: string) => void } = {}) {
    this.#redis = redis;
    this.#onCorrupt = options.onCorrupt ?? (() => {});
  }

  async latest(host: string): Promise<SystemMetricsEvent | null> {
    const raw = await this.#redis.get(HostKeys.latest(host));
    return raw === null ? null : this.#parseLatest(raw, host);
  }

  /** Whether any collector has sampled this host. */
  async known(host: string): Promise<boolean> {
    return (await this.#redis.zscore(HostKeys.registry, host)) !== null;
  }

  /** Hosts a collector has sampled, most recently seen first, at most HOSTS_LIST_MAX. */
  async list(): Promise<HostView[]> {
    const flat = await this.#redis.zrevrange(HostKeys.registry, 0, HOSTS_LIST_MAX - 1, 'WITHSCORES');
    const hosts: Array<[string, number]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) hosts.push([flat[i]!, Number(flat[i + 1])]);
    return Promise.all(hosts.map(([host, at]) => this.#view(host, at)));
  }

  /** One host, or null when no collector has sampled it. */
  async get(host: string): Promise<HostView | null> {
    const at = await this.#redis.zscore(HostKeys.registry, host);
    return at === null ? null : this.#view(host, Number(at));
  }

  /** A page of the host's history, oldest first (`before`: page back; `after`: resume forward). */
  metrics(host: string, query: { before?: string; after?: string; limit: number }): Promise<HostPage> {
    return pageStream(this.#redis, HostKeys.metrics(host), query, (id, fields) => {
      const at = fields.indexOf(STREAM_FIELD);
      const body = at >= 0 ? parseJson(fields[at + 1] ?? '') : undefined;
      if (checkBody.check(body) && body.host === host) return { ...body, position: id };
      this.#onCorrupt(`${HostKeys.metrics(host)} ${id}`);
      return null;
    });
  }

  async #view(host: string, at: number): Promise<HostView> {
    const [collectors, latest] = await Promise.all([this.#redis.hgetall(HostKeys.collectors(host)), this.latest(host)]);
    const listed = Object.entries(collectors)
      .map(([collectorId, ms]) => ({ collectorId, at: Number(ms) }))
      .filter((c) => Number.isFinite(c.at))
      .sort((a, b) => b.at - a.at)
      .slice(0, HOST_MAX_COLLECTORS)
      .map((c) => ({ collectorId: c.collectorId.slice(0, 255), lastSeenAt: new Date(c.at).toISOString() }));
    return {
      host,
      collectors: listed,
      lastSeenAt: Number.isFinite(at) ? new Date(at).toISOString() : null,
      latest: latest ? hostSummary(latest) : null,
    };
  }

  #parseLatest(raw: string, host: string): SystemMetricsEvent | null {
    const value = parseJson(raw);
    if (checkLatest.check(value) && value.host === host) return value;
    this.#onCorrupt(HostKeys.latest(host));
    return null;
  }
}
