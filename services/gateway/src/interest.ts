// What this gateway's clients want sampled faster: each metrics subscription may ask an interval;
// per server, the fastest one asked by a client still in the room is written to Redis, to the hash
// of the server's collector (InterestStore), refreshed every INTEREST_REFRESH_MS with an expiry of
// INTEREST_TTL_MS, so a gateway that dies stops counting within seconds. A client's ask ends when
// it leaves the room, however it leaves (unsubscribe, disconnect, a refreshed token that no longer
// allows it): the adapter's `leave-room` says so. Changes are written at once, not at the next refresh.
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import { ErrorCodes, INTEREST_REFRESH_MS, INTEREST_TTL_MS, metricsRoom, parseRoom, type RegistryEntry } from '@vigil/protocol';
import { InOrder } from '@vigil/protocol/runtime';
import type { InterestStore, InterestWrite } from '@vigil/store';
import type { Client } from './client.js';
import { clientOf } from './socketio-client.js';

/** A server's registry entry is read again this often while someone here asks about it (a server may move to another collector). */
const TARGET_REFRESH_MS = 10_000;
/** A collector's hash outlives the last write by this much: gone collectors leave nothing behind. */
const KEY_TTL_MS = 6 * INTEREST_TTL_MS;
const kAsks = Symbol('vigil.intervalAsks');

type AskingClient = Client & { [kAsks]?: Map<string, number> };
/** What this gateway needs of a server's registry entry. */
export type TargetInfo = Pick<RegistryEntry, 'collectorId' | 'intervalMs' | 'minIntervalMs'>;
type Known = { target: TargetInfo; readAt: number };
type Written = { collectorId: string; intervalMs: number };

/** The interval a client asked for a server it holds, if it asked one. */
export function askOf(client: Client, serverId: string): number | undefined {
  return (client as AskingClient)[kAsks]?.get(serverId);
}

export type InterestOptions = {
  nsp: Namespace;
  store: Pick<InterestStore, 'write'>;
  /** Registry entries of servers (ServerStore.entries). */
  entries: (serverIds: readonly string[]) => Promise<Map<string, RegistryEntry>>;
  gatewayId: string;
  logger: Logger;
  everyMs?: number;
  ttlMs?: number;
};

export class GatewayInterest {
  readonly #o: InterestOptions;
  /** serverId → socket id → interval asked. */
  readonly #asks = new Map<string, Map<string, number>>();
  readonly #known = new Map<string, Known>();
  /** What Redis holds from this gateway, per server. */
  readonly #written = new Map<string, Written>();
  readonly #flushes = new InOrder();
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Immediate | null = null;
  #failing = false;
  readonly #onLeave = (room: string, id: string) => {
    if (!room.startsWith(METRICS_ROOM_START)) return;
    const parsed = parseRoom(room);
    if (parsed?.kind === 'metrics') this.#drop(parsed.serverId, id);
  };

  constructor(options: InterestOptions) {
    this.#o = options;
  }

  start(): void {
    this.#o.nsp.adapter.on('leave-room', this.#onLeave);
    this.#timer ??= setInterval(() => void this.flush(), this.#o.everyMs ?? INTEREST_REFRESH_MS);
  }

  /** Stops, and withdraws this gateway's entries (best effort: they expire anyway). */
  async stop(): Promise<void> {
    this.#o.nsp.adapter.off('leave-room', this.#onLeave);
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearImmediate(this.#soon);
    this.#timer = this.#soon = null;
    this.#asks.clear();
    await this.flush();
  }

  /**
   * A client in `serverId`'s room asks `intervalMs` (undefined: nothing, the configured interval).
   * `target`: the server's registry entry if the caller has just read it. A client no longer in
   * the room (it left while subscribing) is not counted.
   */
  ask(client: Client, serverId: string, intervalMs: number | undefined, target: TargetInfo | null): void {
    if (target) this.#known.set(serverId, { target, readAt: performance.now() });
    const s = client as AskingClient;
    if (intervalMs === undefined || !client.connected || !client.rooms.has(metricsRoom(serverId))) {
      if (s[kAsks]?.delete(serverId)) this.#drop(serverId, client.id);
      return;
    }
    const asks = (s[kAsks] ??= new Map());
    // The leave of a /ws client is heard by #drop, which finds Socket.IO sockets only: forget here
    // what it no longer holds, so its record stays as small as its rooms.
    for (const id of asks.keys()) if (!client.rooms.has(metricsRoom(id))) asks.delete(id);
    asks.set(serverId, intervalMs);
    let bySocket = this.#asks.get(serverId);
    if (!bySocket) this.#asks.set(serverId, (bySocket = new Map()));
    if (bySocket.get(client.id) === intervalMs) return;
    bySocket.set(client.id, intervalMs);
    this.#changed();
  }

  /** The fastest interval asked here for a server, if any. */
  fastest(serverId: string): number | undefined {
    let min: number | undefined;
    for (const ms of this.#asks.get(serverId)?.values() ?? []) if (min === undefined || ms < min) min = ms;
    return min;
  }

  /** Writes every wish (refreshing its expiry) and withdraws those that ended; one at a time. */
  flush(): Promise<void> {
    return this.#flushes.run(() => this.#flush());
  }

  #drop(serverId: string, socketId: string): void {
    const bySocket = this.#asks.get(serverId);
    if (!bySocket?.delete(socketId)) return;
    if (bySocket.size === 0) this.#asks.delete(serverId);
    const socket = this.#o.nsp.sockets.get(socketId);
    if (socket) (clientOf(socket) as AskingClient)[kAsks]?.delete(serverId);
    this.#changed();
  }

  #changed(): void {
    if (this.#timer === null || this.#soon) return;
    this.#soon = setImmediate(() => {
      this.#soon = null;
      void this.flush();
    });
  }

  async #flush(): Promise<void> {
    try {
      await this.#refreshTargets();
      const byCollector = new Map<string, InterestWrite[]>();
      const add = (collectorId: string, w: InterestWrite) => {
        const list = byCollector.get(collectorId);
        if (list) list.push(w);
        else byCollector.set(collectorId, [w]);
      };
      const next = new Map<string, Written>();
      for (const serverId of this.#asks.keys()) {
        const target = this.#known.get(serverId)?.target;
        const ms = this.fastest(serverId);
        // Only what changes the collector's schedule: one that takes asks, asked faster than it samples anyway.
        if (!target || target.minIntervalMs === undefined || ms === undefined || ms >= target.intervalMs) continue;
        next.set(serverId, { collectorId: target.collectorId, intervalMs: ms });
        add(target.collectorId, { serverId, intervalMs: ms });
      }
      for (const [serverId, was] of this.#written) {
        if (next.get(serverId)?.collectorId !== was.collectorId) add(was.collectorId, { serverId, intervalMs: null });
      }
      const ttl = this.#o.ttlMs ?? INTEREST_TTL_MS;
      await this.#o.store.write(this.#o.gatewayId, byCollector, ttl, Math.max(KEY_TTL_MS, 6 * ttl));
      this.#written.clear();
      for (const [id, w] of next) this.#written.set(id, w);
      for (const id of this.#known.keys()) if (!this.#asks.has(id)) this.#known.delete(id);
      if (this.#failing) this.#o.logger.info('viewer intervals written again');
      this.#failing = false;
    } catch (err) {
      // Kept as it is: the next flush writes everything again.
      if (!this.#failing) this.#o.logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'viewer intervals not written');
      this.#failing = true;
    }
  }

  /** Registry entries of asked-about servers: unknown ones at every flush, known ones every TARGET_REFRESH_MS. */
  async #refreshTargets(): Promise<void> {
    const now = performance.now();
    const due = [...this.#asks.keys()].filter((id) => {
      const k = this.#known.get(id);
      return !k || now - k.readAt >= TARGET_REFRESH_MS;
    });
    if (due.length === 0) return;
    const entries = await this.#o.entries(due);
    for (const [id, entry] of entries) this.#known.set(id, { target: entry, readAt: now });
  }
}

const METRICS_ROOM_START = metricsRoom('');
