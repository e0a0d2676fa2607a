// When the subscriber connection to Redis comes back after being lost (Redis restarted, a
// network blip), log lines may have been stored while this gateway could not receive them live:
// collectors flush what they held as soon as Redis answers, perhaps before our subscriptions are
// back. So, once the subscriptions are in effect again:
// - clients that re-join by themselves (the client library, every /ws client) are told `resync-required`, and
//   subscribe again from their last position, in order and without duplicates;
// - other clients (the earlier dashboard) get the missed lines replayed in place: every line
//   since the link was lost (a little before, to cover clock skew) and older than the first
//   line that arrived live again on its room.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BACKFILL_MAX, LOG_LEVELS, ServerEvents, comparePositions, logsLevelRoom, meetsLevel, type LogLevel, type ProcessLogsEvent } from '@vigil/protocol';
import { positionInFrame, roomOfChannel, type LogStore } from '@vigil/store';
import { rejoinsItself, roomsOf } from './client-rooms.js';
import type { Client } from './client.js';
import { socketOf } from './socketio-client.js';

/** A /ws client always re-joins by itself; a Socket.IO client when it said so in its handshake. */
const rejoins = (client: Client) => {
  const socket = socketOf(client);
  return socket ? rejoinsItself(socket) : true;
};

const SKEW_MS = 2000;

export class PubSubRecovery {
  readonly #sub: Redis;
  readonly #clients: () => Iterable<Client>;
  readonly #logs: LogStore;
  readonly #logger: Logger;
  readonly #sync: () => Promise<void>;
  #lostAt: number | null = null;
  #ready = false;
  /** First position that arrived live per log room since the link came back. */
  #firstLive: Map<string, string> | null = null;
  readonly #onClose = () => {
    if (this.#ready && this.#lostAt === null) this.#lostAt = Date.now();
    this.#ready = false;
  };
  readonly #onReady = () => {
    const lostAt = this.#lostAt;
    this.#ready = true;
    if (lostAt === null) return;
    this.#lostAt = null;
    this.#firstLive = new Map();
    this.recover(lostAt).catch((err: Error) => this.#logger.warn({ err: err.message }, 'log recovery after redis reconnect failed'));
  };

  /** `clients`: every connected client, of both transports. */
  constructor(sub: Redis, clients: () => Iterable<Client>, logs: LogStore, logger: Logger, sync: () => Promise<void>) {
    this.#sub = sub;
    this.#clients = clients;
    this.#logs = logs;
    this.#logger = logger;
    this.#sync = sync;
    this.#ready = sub.status === 'ready';
    sub.on('close', this.#onClose);
    sub.on('ready', this.#onReady);
  }

  close(): void {
    this.#sub.off('close', this.#onClose);
    this.#sub.off('ready', this.#onReady);
  }

  /** Fed every message of the subscriber connection; costs nothing unless recovering. */
  observe(channel: string, message: Buffer): void {
    const first = this.#firstLive;
    if (!first) return;
    const room = roomOfChannel(channel);
    if (first.has(room)) return;
    const position = positionInFrame(message);
    if (position !== null) first.set(room, position);
  }

  async recover(lostAt: number): Promise<void> {
    await this.#sync(); // our re-subscriptions are in effect
    const selfJoining: Client[] = [];
    const inPlace = new Map<string, Array<{ client: Client; level: LogLevel }>>();
    for (const client of this.#clients()) {
      const levels = new Map<string, LogLevel>();
      for (const room of roomsOf(client.rooms)) if (room.kind === 'logs') levels.set(room.serverId, room.level);
      if (levels.size === 0) continue;
      if (rejoins(client)) {
        client.emit(ServerEvents.resyncRequired, { serverIds: [...levels.keys()], reason: 'redis-reconnected', timestamp: new Date().toISOString() });
        selfJoining.push(client);
        continue;
      }
      for (const [serverId, level] of levels) {
        let list = inPlace.get(serverId);
        if (!list) inPlace.set(serverId, (list = []));
        list.push({ client, level });
      }
    }
    let replayed = 0;
    if (inPlace.size > 0) {
      const since = `${Math.max(0, lostAt - SKEW_MS)}-0`;
      const pages = new Map<string, ProcessLogsEvent[]>();
      for (const serverId of inPlace.keys()) {
        pages.set(serverId, (await this.#logs.page(serverId, { direction: 'forward', after: since, level: LOG_LEVELS[0], limit: BACKFILL_MAX })).items);
      }
      await this.#sync(); // every live copy of those lines has arrived
      const firstLive = this.#firstLive ?? new Map<string, string>();
      for (const [serverId, subscribers] of inPlace) {
        for (const line of pages.get(serverId) ?? []) {
          const live = firstLive.get(logsLevelRoom(serverId, line.logData.level));
          if (live !== undefined && comparePositions(line.position, live) >= 0) continue;
          for (const { client, level } of subscribers) {
            if (meetsLevel(line.logData.level, level)) {
              client.emit(ServerEvents.processLogs, line);
              replayed++;
            }
          }
        }
      }
    }
    this.#firstLive = null;
    this.#logger.info({ lostForMs: Date.now() - lostAt, resyncSent: selfJoining.length, replayed }, 'log delivery recovered after redis reconnect');
  }
}
