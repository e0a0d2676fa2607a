// Writes alert state changes: for each, a check-and-set on the firing hash (fire only what is not
// firing, resolve only what is), then the stream entry and the broadcast to the alert rooms of its
// severity (every server's, and its server's), all carrying the stream id as the position, in one
// Lua call. Whoever writes a change (a collector after a restart, several gateways raising the same
// `stale`), each change is stored and broadcast once: the loser of a race writes nothing.
import type { Redis } from 'ioredis';
import {
  ALERTS_HISTORY_MAX_LEN,
  AlertKeys,
  ErrorCodes,
  Keys,
  NAMESPACE,
  ServerEvents,
  STREAM_FIELD,
  VigilError,
  alertsSeverityRoom,
  type AlertBody,
} from '@vigil/protocol';
import { broadcastFrame, type BroadcastFrame } from './adapter-wire.js';

// KEYS: stream, firing hash, heartbeats. ARGV: maxLen, count, then 11 per change:
// field, action (fire|resolve), guard (''|old|fresh), guard cutoff (ms), body, then (channel,
// prefix, suffix) × 2. A guard re-checks the server's heartbeat here, so a gateway acting on an
// older read cannot raise `stale` after another resolved it (or the reverse).
const CHANGE_ALERTS = `
local maxLen = ARGV[1]
local n = tonumber(ARGV[2])
local out = {}
for i = 0, n - 1 do
  local a = 3 + i * 11
  local field = ARGV[a]
  local fire = ARGV[a + 1] == 'fire'
  local guard = ARGV[a + 2]
  local ok = (redis.call('HEXISTS', KEYS[2], field) == 1) ~= fire
  if ok and guard ~= '' then
    local serverId = string.match(field, '^(.*)/[^/]*$')
    local beat = redis.call('ZSCORE', KEYS[3], serverId)
    local fresh = beat and tonumber(beat) >= tonumber(ARGV[a + 3])
    if guard == 'old' then ok = not fresh else ok = fresh and true or false end
  end
  if ok then
    local body = ARGV[a + 4]
    local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', '${STREAM_FIELD}', body)
    local withPosition = string.sub(body, 1, -2) .. ',"position":"' .. id .. '"}'
    if fire then redis.call('HSET', KEYS[2], field, withPosition) else redis.call('HDEL', KEYS[2], field) end
    redis.call('SPUBLISH', ARGV[a + 5], ARGV[a + 6] .. withPosition .. ARGV[a + 7])
    redis.call('SPUBLISH', ARGV[a + 8], ARGV[a + 9] .. withPosition .. ARGV[a + 10])
    out[i + 1] = id
  else
    out[i + 1] = ''
  end
end
return out
`;

/**
 * One alert state change. `guard` (gateways' `stale` only): `old` fires only if the server's
 * heartbeat is older than `cutoffMs` (or missing), `fresh` resolves only if it is not.
 */
export type AlertChange = { body: AlertBody; guard?: { want: 'old' | 'fresh'; cutoffMs: number } };

type WithChange = { vigilAlerts(...args: (string | number)[]): Promise<string[]> };

export class AlertWriter {
  readonly #redis: Redis;
  readonly #uid: string;
  readonly #frames = new Map<string, BroadcastFrame>();

  /** `uid`: the adapter uid of the broadcasts (a collector's or a gateway's own, never a gateway's adapter uid). */
  constructor(redis: Redis, uid: string) {
    this.#redis = redis;
    this.#uid = uid;
    if (!(redis as unknown as Partial<WithChange>).vigilAlerts) redis.defineCommand('vigilAlerts', { lua: CHANGE_ALERTS, numberOfKeys: 3 });
  }

  /** Writes the changes in order; resolves with each one's position, or null where it was not a change (already so). */
  async write(changes: readonly AlertChange[]): Promise<Array<string | null>> {
    if (changes.length === 0) return [];
    const args: (string | number)[] = [ALERTS_HISTORY_MAX_LEN, changes.length];
    for (const { body, guard } of changes) {
      const json = JSON.stringify(body);
      const all = this.#frame(alertsSeverityRoom(null, body.severity));
      const one = this.#frame(alertsSeverityRoom(body.serverId, body.severity));
      args.push(body.id, body.state === 'firing' ? 'fire' : 'resolve', guard?.want ?? '', guard?.cutoffMs ?? 0, json);
      args.push(all.channel, all.prefix, all.suffix, one.channel, one.prefix, one.suffix);
    }
    let ids: string[];
    try {
      ids = await (this.#redis as unknown as WithChange).vigilAlerts(AlertKeys.stream, AlertKeys.firing, Keys.heartbeats, ...args);
    } catch (err) {
      throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `alert write failed: ${(err as Error).message}`, { cause: err });
    }
    return changes.map((_, i) => (ids[i] ? String(ids[i]) : null));
  }

  #frame(room: string): BroadcastFrame {
    let f = this.#frames.get(room);
    if (!f) {
      if (this.#frames.size > 10_000) this.#frames.clear();
      f = broadcastFrame(this.#uid, NAMESPACE, room, ServerEvents.alert);
      this.#frames.set(room, f);
    }
    return f;
  }
}
