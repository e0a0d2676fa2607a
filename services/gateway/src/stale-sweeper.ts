// Turns a missing heartbeat into `server-status-changed: stale` for the clients of this gateway.
// Staleness is derived, not observed by any collector, so each gateway tells only its own
// clients (a local emit, never through the adapter): every client hears it exactly once.
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import { ServerEvents, metricsRoom, parseRoom, type ServerStatus } from '@vigil/protocol';
import { isStale, type ServerStore } from '@vigil/store';
import { Periodic } from './periodic.js';

export class StaleSweeper {
  readonly #nsp: Namespace;
  readonly #store: ServerStore;
  readonly #logger: Logger;
  readonly #stale = new Set<string>();
  readonly #loop: Periodic;
  readonly #also: (() => Promise<void>) | undefined;

  /** `also`: another sweep on the same beat (stale alerts, stale-alerts.ts). */
  constructor(nsp: Namespace, store: ServerStore, logger: Logger, everyMs: number, also?: () => Promise<void>) {
    this.#nsp = nsp;
    this.#store = store;
    this.#logger = logger;
    this.#also = also;
    this.#loop = new Periodic(everyMs, () => this.#beat(), (err) => this.#logger.debug({ err: err.message }, 'stale sweep skipped'));
  }

  start(): void {
    this.#loop.start();
  }

  stop(): void {
    this.#loop.stop();
  }

  /** Both sweeps of one beat, each to its end (so no run of either overlaps the next beat). */
  async #beat(): Promise<void> {
    const [own, also] = await Promise.allSettled([this.#sweep(), this.#also?.()]);
    if (own.status === 'rejected') throw own.reason;
    if (also.status === 'rejected') throw also.reason;
  }

  /** One pass over the servers this gateway's clients watch. */
  async #sweep(): Promise<void> {
    const watched: string[] = [];
    for (const room of this.#nsp.adapter.rooms.keys()) {
      const parsed = parseRoom(room);
      if (parsed?.kind === 'metrics') watched.push(parsed.serverId);
    }
    for (const id of this.#stale) if (!watched.includes(id)) this.#stale.delete(id);
    if (watched.length === 0) return;
    const beats = await this.#store.heartbeats(watched);
    const now = Date.now();
    for (const [serverId, beat] of beats) {
      if (beat.status === null || beat.staleAfterMs === null) continue;
      const stale = isStale(beat.status, beat.at, beat.staleAfterMs, now);
      if (stale && !this.#stale.has(serverId)) {
        this.#stale.add(serverId);
        this.#emit(serverId, 'stale');
      } else if (!stale && this.#stale.delete(serverId)) {
        this.#emit(serverId, beat.status);
      }
    }
  }

  /**
   * A subscriber read `serverId` as stale (its client has joined the room). True when that is news
   * to this sweeper: the room, the new client with it, is told now, and the next sweep says nothing
   * more. False when the room has heard it already: only the new client needs telling.
   */
  announceStale(serverId: string): boolean {
    if (this.#stale.has(serverId)) return false;
    this.#stale.add(serverId);
    this.#emit(serverId, 'stale');
    return true;
  }

  #emit(serverId: string, status: ServerStatus): void {
    this.#logger.info({ serverId, status }, 'server status derived from heartbeat');
    this.#nsp.local.to(metricsRoom(serverId)).emit(ServerEvents.serverStatusChanged, {
      serverId,
      status,
      timestamp: new Date().toISOString(),
      position: null,
    });
  }
}
