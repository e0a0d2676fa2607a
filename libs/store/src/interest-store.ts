// Viewers' wanted sampling intervals in Redis (`interestKey`, one hash per collector): gateways
// write, per server, the fastest interval their own clients ask for, with an expiry they refresh;
// each collector reads its hash in one call a second. Expiry is Redis's own clock (TIME), so
// gateways' and collectors' clocks never have to agree; a gateway that dies stops counting when
// its entries expire. Redis 7.0 has no per-field expiry: the value carries it, and the reader
// drops what has expired.
import type { Redis } from 'ioredis';
import { INTERVAL_MAX_MS, INTERVAL_MIN_MS, SERVER_ID_PATTERN, interestField, interestKey } from '@vigil/protocol';
import { isCluster } from './connection.js';

const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// KEYS[1] a collector's interest hash; ARGV: ttl ms, key ttl ms, then (field, interval) pairs, interval 0 removing the field.
const WRITE = `${NOW}
local ttl = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '0' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ':' .. (now + ttl))
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return now`;

// KEYS[1] a collector's interest hash; ARGV[1] most servers to return. Returns server id,
// fastest live interval pairs; removes expired and malformed fields (an interval out of bounds is malformed).
const READ = `${NOW}
local most = tonumber(ARGV[1])
local h = redis.call('HGETALL', KEYS[1])
local best, order, dead = {}, {}, {}
for i = 1, #h, 2 do
  local f, v = h[i], h[i + 1]
  local sp = string.find(f, ' ', 1, true)
  local colon = string.find(v, ':', 1, true)
  local every = colon and tonumber(string.sub(v, 1, colon - 1))
  local expires = colon and tonumber(string.sub(v, colon + 1))
  if not sp or not every or not expires or expires <= now or every < ${INTERVAL_MIN_MS} or every > ${INTERVAL_MAX_MS} or every % 1 ~= 0 then
    dead[#dead + 1] = f
  else
    local id = string.sub(f, 1, sp - 1)
    local b = best[id]
    if b == nil then
      order[#order + 1] = id
      best[id] = every
    elseif every < b then
      best[id] = every
    end
  end
end
for i = 1, #dead, 500 do redis.call('HDEL', KEYS[1], unpack(dead, i, math.min(i + 499, #dead))) end
local out = {}
for i = 1, math.min(#order, most) do
  out[#out + 1] = order[i]
  out[#out + 1] = tostring(best[order[i]])
end
return out`;

type WithScripts = {
  vigilInterestWrite(key: string, ...args: (string | number)[]): Promise<number>;
  vigilInterestRead(key: string, most: number): Promise<unknown>;
};

/** One gateway's wish for one server: `intervalMs` null withdraws it. */
export type InterestWrite = { serverId: string; intervalMs: number | null };

const serverIdRe = new RegExp(SERVER_ID_PATTERN);

export class InterestStore {
  readonly #redis: Redis & WithScripts;

  constructor(redis: Redis) {
    this.#redis = redis as Redis & WithScripts;
    const r = redis as Redis & Partial<WithScripts>;
    if (!r.vigilInterestWrite) redis.defineCommand('vigilInterestWrite', { numberOfKeys: 1, lua: WRITE });
    if (!r.vigilInterestRead) redis.defineCommand('vigilInterestRead', { numberOfKeys: 1, lua: READ });
  }

  /**
   * Writes one gateway's wishes, per collector, in one round trip. Each entry counts for `ttlMs`;
   * each hash is kept `keyTtlMs` after the last write (a collector that is gone leaves nothing behind).
   */
  async write(gatewayId: string, byCollector: ReadonlyMap<string, readonly InterestWrite[]>, ttlMs: number, keyTtlMs: number): Promise<void> {
    if (byCollector.size === 0) return;
    const argsOf = (wishes: readonly InterestWrite[]) => {
      const args: (string | number)[] = [ttlMs, keyTtlMs];
      for (const w of wishes) args.push(interestField(w.serverId, gatewayId), w.intervalMs ?? 0);
      return args;
    };
    if (isCluster(this.#redis)) {
      // One key per collector, each in its own slot: the calls go out together, one per node's share.
      const r = this.#redis as unknown as WithScripts;
      await Promise.all([...byCollector].map(([collectorId, wishes]) => r.vigilInterestWrite(interestKey(collectorId), ...argsOf(wishes))));
      return;
    }
    const pipeline = this.#redis.pipeline() as unknown as WithScripts & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const [collectorId, wishes] of byCollector) void pipeline.vigilInterestWrite(interestKey(collectorId), ...argsOf(wishes));
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (!results || failed) throw failed ?? new Error('interest write: no reply');
  }

  /**
   * The fastest live interval each server of this collector is wanted at, at most `most` servers.
   * Whatever Redis holds is checked: entries that are no valid server id and interval are skipped.
   */
  async read(collectorId: string, most: number): Promise<Map<string, number>> {
    const reply = await this.#redis.vigilInterestRead(interestKey(collectorId), most);
    const out = new Map<string, number>();
    if (!Array.isArray(reply)) return out;
    for (let i = 0; i + 1 < reply.length && out.size < most; i += 2) {
      const serverId = reply[i] as unknown;
      const every = Number(reply[i + 1]);
      if (typeof serverId !== 'string' || !serverIdRe.test(serverId)) continue;
      if (!Number.isInteger(every) || every < INTERVAL_MIN_MS || every > INTERVAL_MAX_MS) continue;
      out.set(serverId, every);
    }
    return out;
  }
}
