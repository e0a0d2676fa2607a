// Removing a server: its registry field, its heartbeat and every key of its own data
// (`serverDataKeys`), in one Lua script, so no reader and no concurrent collector write ever
// sees half a server. A collector that writes after the removal simply registers it again.
//
// Two ways in. `remove` (an admin's DELETE) removes whatever is there. `removeIfExpired` (the
// retention sweep) removes only if nothing changed since the caller judged the server gone:
// the registry entry is still the one it read, and the heartbeat is no newer than its cutoff.
// That compare-and-delete is what lets every gateway sweep without a lease: whichever script
// runs first removes, the others find the entry gone and do nothing, so a server is removed,
// and announced, exactly once.
//
// On a Redis Cluster the registry, the heartbeats and the server's keys are three slots, so no one
// script can hold them. There the registry field decides: a compare-and-delete of that one field
// (HGET equal → HDEL) is atomic, so exactly one sweeper wins and announces; only the winner then
// removes the heartbeat member and the data keys. What is lost is the heartbeat's part of the
// atomic check: it is read just before, so a server that shows life between that read and the
// HDEL is removed from the registry all the same, and its collector registers it again with its
// next registry write (every status change, and every 15 s).
import type { Redis } from 'ioredis';
import { Keys, serverDataKeys } from '@vigil/protocol';
import { isCluster } from './connection.js';

// KEYS: registry, heartbeats, data keys…; ARGV: serverId, mode ('any' | 'expired'), cutoff ms,
// the registry entry as seen ('' for none). Returns how many things it removed (0: nothing).
const REMOVE = `
local id = ARGV[1]
if ARGV[2] == 'expired' then
  if (redis.call('HGET', KEYS[1], id) or '') ~= ARGV[4] then return 0 end
  local beat = redis.call('ZSCORE', KEYS[2], id)
  if beat and tonumber(beat) > tonumber(ARGV[3]) then return 0 end
end
local n = redis.call('HDEL', KEYS[1], id) + redis.call('ZREM', KEYS[2], id)
for i = 3, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
return n
`;

// KEYS: registry; ARGV: serverId, the entry as seen ('' for none). -1 when the entry is not the one
// seen; otherwise how many fields it removed (0: it was, as seen, not there).
const REMOVE_ENTRY_IF_SAME = `
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return -1 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

type WithRemove = {
  vigilRemoveServer(...args: (string | number)[]): Promise<number>;
  vigilRemoveEntryIfSame(key: string, serverId: string, seen: string): Promise<number>;
};

/** One server as the retention sweep sees it: its raw registry entry (null: none) and heartbeat (null: none). */
export type ServerTrace = { serverId: string; entry: string | null; heartbeatAt: number | null };

export class ServerRemover {
  readonly #redis: Redis & WithRemove;

  constructor(redis: Redis) {
    this.#redis = redis as Redis & WithRemove;
    if (!(redis as Redis & Partial<WithRemove>).vigilRemoveServer) redis.defineCommand('vigilRemoveServer', { lua: REMOVE });
    if (!(redis as Redis & Partial<WithRemove>).vigilRemoveEntryIfSame) redis.defineCommand('vigilRemoveEntryIfSame', { lua: REMOVE_ENTRY_IF_SAME, numberOfKeys: 1 });
  }

  /** Removes the server whatever its state; false when nothing of it was there. */
  async remove(serverId: string): Promise<boolean> {
    return (await this.#run(serverId, 'any', 0, '')) > 0;
  }

  /**
   * Removes the server only if its registry entry is still `seen.entry` and its heartbeat is no
   * newer than `cutoffMs`; false when another sweep got there first or the server showed life.
   */
  async removeIfExpired(seen: ServerTrace, cutoffMs: number): Promise<boolean> {
    return (await this.#run(seen.serverId, 'expired', cutoffMs, seen.entry ?? '')) > 0;
  }

  /** Every server the registry or the heartbeats know, with what the sweep judges it by. */
  async traces(): Promise<ServerTrace[]> {
    const [entries, beats] = await Promise.all([
      this.#redis.hgetall(Keys.registry),
      this.#redis.zrange(Keys.heartbeats, '0', '-1', 'WITHSCORES'),
    ]);
    const out = new Map<string, ServerTrace>();
    for (const [serverId, entry] of Object.entries(entries)) out.set(serverId, { serverId, entry, heartbeatAt: null });
    for (let i = 0; i + 1 < beats.length; i += 2) {
      const serverId = beats[i]!;
      const at = Number(beats[i + 1]);
      const trace = out.get(serverId);
      if (trace) trace.heartbeatAt = at;
      else out.set(serverId, { serverId, entry: null, heartbeatAt: at });
    }
    return [...out.values()];
  }

  async #run(serverId: string, mode: 'any' | 'expired', cutoffMs: number, seen: string): Promise<number> {
    if (isCluster(this.#redis)) return this.#runOnCluster(serverId, mode, cutoffMs, seen);
    const keys = [Keys.registry, Keys.heartbeats, ...serverDataKeys(serverId)];
    return this.#redis.vigilRemoveServer(keys.length, ...keys, serverId, mode, cutoffMs, seen);
  }

  async #runOnCluster(serverId: string, mode: 'any' | 'expired', cutoffMs: number, seen: string): Promise<number> {
    const r = this.#redis;
    let n: number;
    if (mode === 'expired') {
      const beat = await r.zscore(Keys.heartbeats, serverId);
      if (beat !== null && Number(beat) > cutoffMs) return 0;
      n = await r.vigilRemoveEntryIfSame(Keys.registry, serverId, seen);
      if (n < 0) return 0;
    } else {
      n = await r.hdel(Keys.registry, serverId);
    }
    const [beats, data] = await Promise.all([r.zrem(Keys.heartbeats, serverId), r.del(...serverDataKeys(serverId))]);
    return n + beats + data;
  }
}
