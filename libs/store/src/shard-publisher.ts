// Broadcasts on a Redis Cluster, once each and in order per channel, although a channel's slot is
// fixed by its room name and is not the slot of the keys the event was stored in.
//
// A writer stores first (a script in the keys' slot gives each event its position), then hands
// the messages here. They are grouped by the slot of their channel, and each group is one script
// on the node serving that slot: for each message, SPUBLISH only if its position is newer than the
// last one published on that channel from that stream (a guard HASH in the channel's own slot),
// then remember it. So a retry, by us or inside ioredis after a failover, never delivers twice and
// never delivers an older event after a newer one. A group that fails is kept, bounded, and sent
// again first with the next batch: what was stored is broadcast once, late rather than never.
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '@vigil/protocol';
import { keyInSlotOf, keySlot } from './key-slot.js';

/** One broadcast of an event already stored: `stream` and `position` say where it was stored. */
export type ShardMessage = { channel: string; stream: string; position: string; message: string };

/** How long a channel's guard outlives its last broadcast: far past any retry, yet bounded. */
export const PUBLISH_GUARD_TTL_MS = 10 * 60_000;
/** Messages kept for a retry while their node is away; older ones are dropped first, and counted. */
export const PENDING_BROADCASTS_MAX = 20_000;
/** And at most this many characters of them (log lines are up to 64 KB each: 20 000 of them would be GBs). */
export const PENDING_BROADCAST_CHARS_MAX = 16 * 1024 * 1024;

/** The HASH (field: stream key, value: last position broadcast) guarding one channel, in its slot. */
export const publishGuardKey = (channel: string) => keyInSlotOf(channel, `${KEY_PREFIX}published`);

// KEYS: the guards of the group's channels (one slot). ARGV: ttl ms, count, then 4 per message:
// guard index (1-based), stream, position, then the channel and the message. Returns how many it sent.
const PUBLISH_ONCE = `
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return true end
  am, bm = tonumber(am), tonumber(bm)
  if am ~= bm then return am > bm end
  return tonumber(as) > tonumber(bs)
end
local n = tonumber(ARGV[2])
local sent = 0
for i = 0, n - 1 do
  local a = 3 + i * 5
  local guard = KEYS[tonumber(ARGV[a])]
  local last = redis.call('HGET', guard, ARGV[a + 1])
  if not last or newer(ARGV[a + 2], last) then
    redis.call('SPUBLISH', ARGV[a + 3], ARGV[a + 4])
    redis.call('HSET', guard, ARGV[a + 1], ARGV[a + 2])
    sent = sent + 1
  end
end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return sent
`;

type WithPublish = { vigilPublishOnce(numKeys: number, keys: string[], args: string[]): Promise<number> };

export class ShardPublisher {
  readonly #redis: Redis & WithPublish;
  #pending: ShardMessage[] = [];
  #dropped = 0;

  constructor(redis: Redis) {
    this.#redis = redis as Redis & WithPublish;
    if (!(redis as Redis & Partial<WithPublish>).vigilPublishOnce) redis.defineCommand('vigilPublishOnce', { lua: PUBLISH_ONCE });
  }

  /** Messages stored but not broadcast yet (their node was away); sent first with the next batch. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Messages given up because more than PENDING_BROADCASTS_MAX waited (still stored: history has them). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Broadcasts what is pending, then `messages`; never throws: a group that fails waits for the next call. */
  async publish(messages: readonly ShardMessage[]): Promise<void> {
    const all = this.#pending.length === 0 ? messages : [...this.#pending, ...messages];
    this.#pending = [];
    if (all.length === 0) return;
    const groups = new Map<number, ShardMessage[]>();
    for (const m of all) {
      const slot = keySlot(m.channel);
      let g = groups.get(slot);
      if (!g) groups.set(slot, (g = []));
      g.push(m);
    }
    const failed: ShardMessage[][] = [];
    await Promise.all(
      [...groups.values()].map(async (group) => {
        try {
          await this.#send(group);
        } catch {
          failed.push(group);
        }
      }),
    );
    if (failed.length === 0) return;
    // Kept after its own failures: what a call that overlapped this one left waiting (a host sample
    // written while the last one was still out), not overwritten.
    const again = [...failed.flat(), ...this.#pending];
    // Newest kept first: drop from the oldest end until both the count and the size fit.
    let keepFrom = again.length;
    let chars = 0;
    while (keepFrom > 0 && again.length - keepFrom < PENDING_BROADCASTS_MAX) {
      const m = again[keepFrom - 1]!;
      const size = m.message.length + m.channel.length + m.stream.length + m.position.length;
      if (chars + size > PENDING_BROADCAST_CHARS_MAX) break;
      chars += size;
      keepFrom--;
    }
    this.#dropped += keepFrom;
    this.#pending = keepFrom > 0 ? again.slice(keepFrom) : again;
  }

  #send(group: ShardMessage[]): Promise<number> {
    const keys: string[] = [];
    const index = new Map<string, string>();
    const args: string[] = [String(PUBLISH_GUARD_TTL_MS), String(group.length)];
    for (const m of group) {
      let i = index.get(m.channel);
      if (i === undefined) {
        keys.push(publishGuardKey(m.channel));
        index.set(m.channel, (i = String(keys.length)));
      }
      args.push(i, m.stream, m.position, m.channel, m.message);
    }
    return this.#redis.vigilPublishOnce(keys.length, keys, args);
  }
}
