// Client sessions in Redis (the store; client-sessions.ts uses it): which rooms a client holds, so that a client that reconnects to
// another gateway without re-sending its subscriptions (as the earlier dashboard did) gets them
// back, with the log lines it missed meanwhile.
//
// The session id travels the way Socket.IO's own connection-state recovery does it: the gateway
// sends a `pid` in the CONNECT packet and socket.io-client sends it back in the handshake of its
// next connection. Socket.IO's built-in recovery is not used: with a Redis adapter it turns every
// emit into a Redis publish to all gateways. Sessions are written through on every subscription
// change (so they survive a gateway crash) and expire `ttlMs` after the last refresh.
//
// Timestamps are Redis's own clock (TIME), the clock stream ids are made of, so "the lines since
// the client left" is a position. Without a recorded disconnect (the gateway crashed), the last
// time its gateway said it was alive stands in; lines from a second before either are replayed
// again (duplicates, which carry their positions, rather than a gap).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { INTERVAL_MAX_MS, INTERVAL_MIN_MS, LOG_LEVELS, gatewayAliveKey, logsRoom, metricsRoom, parseRoom, sessionKey, type LogLevel } from '@vigil/protocol';
import { isCluster } from '@vigil/store';
import type { SessionRoom } from '../client-rooms.js';
import { ROOMS_PER_SOCKET_CEILING } from '../options.js';

export type RestoredSession = { id: string; rooms: SessionRoom[]; resumeFrom: string };
export type LiveSession = { id: string; rooms: SessionRoom[] };

const ID_RE = /^[A-Za-z0-9_-]{16,64}$/;
const OVERLAP_MS = 1000;

const NOW_MS = `local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000)`;
// KEYS[1] session; ARGV gateway, rooms json, ttl. Written through on every change.
const SAVE = `${NOW_MS.replace('return', 'local now =')}
redis.call('HSET', KEYS[1], 'gw', ARGV[1], 'rooms', ARGV[2], 'updated', now)
redis.call('HDEL', KEYS[1], 'left')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now`;
// Marks when the client left, unless another gateway has the session already.
const LEFT = `if redis.call('HGET', KEYS[1], 'gw') ~= ARGV[1] then return 0 end
${NOW_MS.replace('return', 'local now =')}
redis.call('HSET', KEYS[1], 'left', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now`;
const ALIVE = `${NOW_MS.replace('return', 'local now =')}
redis.call('SET', KEYS[1], now, 'PX', ARGV[1])
return now`;

type WithScripts = {
  vigilSessionSave(key: string, gw: string, rooms: string, ttl: number): Promise<number>;
  vigilSessionLeft(key: string, gw: string, ttl: number): Promise<number>;
  vigilAlive(key: string, ttl: number): Promise<number>;
};

export class SessionStore {
  readonly #redis: Redis & WithScripts;
  readonly #gatewayId: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  #beat: NodeJS.Timeout | null = null;
  #onClose: (() => void) | null = null;
  #onReady: (() => void) | null = null;

  constructor(redis: Redis, gatewayId: string, ttlMs: number, logger: Logger) {
    this.#redis = redis as Redis & WithScripts;
    this.#gatewayId = gatewayId;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
    const r = redis as Redis & Partial<WithScripts>;
    if (!r.vigilSessionSave) redis.defineCommand('vigilSessionSave', { numberOfKeys: 1, lua: SAVE });
    if (!r.vigilSessionLeft) redis.defineCommand('vigilSessionLeft', { numberOfKeys: 1, lua: LEFT });
    if (!r.vigilAlive) redis.defineCommand('vigilAlive', { numberOfKeys: 1, lua: ALIVE });
  }

  static newId(): string {
    return randomBytes(15).toString('base64url');
  }

  static isValidId(value: unknown): value is string {
    return typeof value === 'string' && ID_RE.test(value);
  }

  /**
   * Says every second that this gateway is alive, and every 15 s writes its clients' sessions
   * again in full: Redis may have come back empty (no persistence, a failover), and extending
   * the expiry of keys that are gone would keep nothing. Also at once when the connection to
   * Redis is back after a loss.
   */
  start(liveSessions: () => LiveSession[]): void {
    let ticks = 0;
    const beat = () => {
      this.#redis.vigilAlive(gatewayAliveKey(this.#gatewayId), 10 * 60_000).catch(() => undefined);
      if (++ticks % 15 === 0) this.#rewrite(liveSessions());
    };
    beat();
    this.#beat = setInterval(beat, 1000);
    let lost = false;
    this.#onClose = () => {
      lost = true;
    };
    this.#onReady = () => {
      if (!lost) return;
      lost = false;
      beat();
      this.#rewrite(liveSessions());
    };
    this.#redis.on('close', this.#onClose);
    this.#redis.on('ready', this.#onReady);
  }

  stop(): void {
    if (this.#beat) clearInterval(this.#beat);
    this.#beat = null;
    if (this.#onClose) this.#redis.off('close', this.#onClose);
    if (this.#onReady) this.#redis.off('ready', this.#onReady);
    this.#onClose = this.#onReady = null;
  }

  async load(id: string): Promise<RestoredSession | null> {
    const h = await this.#redis.hgetall(sessionKey(id));
    if (!h.rooms || !h.gw) return null;
    const rooms = parseRooms(h.rooms);
    if (!rooms) {
      this.#logger.warn({ session: id.slice(0, 6) }, 'skipped a malformed session in redis');
      return null;
    }
    let since = Number(h.left);
    if (!Number.isFinite(since) || since <= 0) {
      const alive = Number(await this.#redis.get(gatewayAliveKey(h.gw)));
      since = Number.isFinite(alive) && alive > 0 ? alive : Number(h.updated);
    }
    if (!Number.isFinite(since) || since <= 0) return null;
    return { id, rooms, resumeFrom: `${Math.max(0, Math.floor(since) - OVERLAP_MS)}-0` };
  }

  save(id: string, rooms: SessionRoom[]): void {
    this.#redis.vigilSessionSave(sessionKey(id), this.#gatewayId, JSON.stringify(rooms), this.#ttlMs).catch((err: Error) => {
      this.#logger.debug({ err: err.message }, 'session not saved');
    });
  }

  left(id: string): void {
    this.#redis.vigilSessionLeft(sessionKey(id), this.#gatewayId, this.#ttlMs).catch(() => undefined);
  }

  forget(id: string): void {
    this.#redis.del(sessionKey(id)).catch(() => undefined);
  }

  #rewrite(sessions: LiveSession[]): void {
    if (sessions.length === 0) return;
    if (isCluster(this.#redis)) {
      // Each session is its own slot on a Redis Cluster: one call each, sent together.
      for (const s of sessions) this.#redis.vigilSessionSave(sessionKey(s.id), this.#gatewayId, JSON.stringify(s.rooms), this.#ttlMs).catch(() => undefined);
      return;
    }
    const pipeline = this.#redis.pipeline() as unknown as WithScripts & { exec(): Promise<unknown> };
    for (const s of sessions) pipeline.vigilSessionSave(sessionKey(s.id), this.#gatewayId, JSON.stringify(s.rooms), this.#ttlMs);
    pipeline.exec().catch(() => undefined);
  }
}

function parseRooms(text: string): SessionRoom[] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length > ROOMS_PER_SOCKET_CEILING) return null;
  const out: SessionRoom[] = [];
  for (const r of value as Array<Record<string, unknown>>) {
    const serverId = typeof r?.serverId === 'string' ? r.serverId : '';
    if (r?.kind === 'metrics' && parseRoom(metricsRoom(serverId))) {
      const interval = r.interval;
      if (interval === undefined) out.push({ kind: 'metrics', serverId });
      else if (Number.isInteger(interval) && (interval as number) >= INTERVAL_MIN_MS && (interval as number) <= INTERVAL_MAX_MS) {
        out.push({ kind: 'metrics', serverId, interval: interval as number });
      } else return null;
    }
    else if (r?.kind === 'logs' && LOG_LEVELS.includes(r.level as LogLevel) && parseRoom(logsRoom(serverId))) {
      out.push({ kind: 'logs', serverId, level: r.level as LogLevel });
    } else return null;
  }
  return out;
}
