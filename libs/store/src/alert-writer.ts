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
import { isCluster } from './connection.js';
import { ShardPublisher, type ShardMessage } from './shard-publisher.js';

// KEYS: stream, firing hash, heartbeats. ARGV: maxLen, count, then 11 per change:
// field, action (fire|resolve), guard (''|old|fresh), guard cutoff (ms), body, then (channel,
// prefix, suffix) × 2. A guard re-checks the server's heartbeat here, so a gateway acting on an
// older read cannot raise `stale` after another resolved it (or the reverse). On a Redis Cluster the
// heartbeats are another slot: the guard is judged just before (`pass`/`block`) and the channels
// are '' (nothing published here): ShardPublisher broadcasts in the channels' own slots.
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
  if guard == 'block' then
    ok = false
  elseif ok and guard ~= '' and guard ~= 'pass' then
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
    if ARGV[a + 5] ~= '' then
      redis.call('SPUBLISH', ARGV[a + 5], ARGV[a + 6] .. withPosition .. ARGV[a + 7])
      redis.call('SPUBLISH', ARGV[a + 8], ARGV[a + 9] .. withPosition .. ARGV[a + 10])
    end
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
  /** On a Redis Cluster, what broadcasts the changes once stored; null on one node. */
  readonly #shard: ShardPublisher | null;

  /** `uid`: the adapter uid of the broadcasts (a collector's or a gateway's own, never a gateway's adapter uid). */
  constructor(redis: Redis, uid: string) {
    this.#redis = redis;
    this.#uid = uid;
    if (!(redis as unknown as Partial<WithChange>).vigilAlerts) redis.defineCommand('vigilAlerts', { lua: CHANGE_ALERTS, numberOfKeys: 3 });
    this.#shard = isCluster(redis) ? new ShardPublisher(redis) : null;
  }

  /** Writes the changes in order; resolves with each one's position, or null where it was not a change (already so). */
  async write(changes: readonly AlertChange[]): Promise<Array<string | null>> {
    if (changes.length === 0) return [];
    const cluster = this.#shard !== null;
    const judged = cluster ? await this.#judgeGuards(changes) : null;
    const args: (string | number)[] = [ALERTS_HISTORY_MAX_LEN, changes.length];
    const frames: Array<[BroadcastFrame, BroadcastFrame]> = [];
    changes.forEach(({ body, guard }, i) => {
      const json = JSON.stringify(body);
      const all = this.#frame(alertsSeverityRoom(null, body.severity));
      const one = this.#frame(alertsSeverityRoom(body.serverId, body.severity));
      frames.push([all, one]);
      args.push(body.id, body.state === 'firing' ? 'fire' : 'resolve', judged ? judged[i]! : (guard?.want ?? ''), guard?.cutoffMs ?? 0, json);
      if (cluster) args.push('', '', '', '', '', '');
      else args.push(all.channel, all.prefix, all.suffix, one.channel, one.prefix, one.suffix);
    });
    let ids: string[];
    try {
      // On a cluster KEYS[3] is never read (the guards are judged): the stream again keeps the call in one slot.
      ids = await (this.#redis as unknown as WithChange).vigilAlerts(AlertKeys.stream, AlertKeys.firing, cluster ? AlertKeys.stream : Keys.heartbeats, ...args);
    } catch (err) {
      throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `alert write failed: ${(err as Error).message}`, { cause: err });
    }
    if (this.#shard) {
      const messages: ShardMessage[] = [];
      changes.forEach(({ body }, i) => {
        const id = ids[i] ? String(ids[i]) : '';
        if (id === '') return;
        const withPosition = `${JSON.stringify(body).slice(0, -1)},"position":"${id}"}`;
        for (const f of frames[i]!) messages.push({ channel: f.channel, stream: AlertKeys.stream, position: id, message: f.prefix + withPosition + f.suffix });
      });
      await this.#shard.publish(messages);
    }
    return changes.map((_, i) => (ids[i] ? String(ids[i]) : null));
  }

  /** Each change's guard judged now from the heartbeats ('' none, 'pass', 'block'), for a cluster. */
  async #judgeGuards(changes: readonly AlertChange[]): Promise<string[]> {
    const guarded = changes.filter((c) => c.guard);
    if (guarded.length === 0) return changes.map(() => '');
    const beats = await this.#redis.zmscore(Keys.heartbeats, ...guarded.map((c) => c.body.serverId));
    const beatOf = new Map(guarded.map((c, i) => [c.body.serverId, beats[i] == null ? null : Number(beats[i])]));
    return changes.map(({ body, guard }) => {
      if (!guard) return '';
      const beat = beatOf.get(body.serverId) ?? null;
      const fresh = beat !== null && beat >= guard.cutoffMs;
      return (guard.want === 'old' ? !fresh : fresh) ? 'pass' : 'block';
    });
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
