// Writes one batch of a collector's Redis writes in one round trip (a metrics tick, a supervisor's
// status change or a batch of log lines): for each event, the history entry, the latest value and
// the room broadcast (all carrying the stream id Redis assigned as the position), then the registry
// entries and heartbeats. The append-and-publish step runs as one Lua script, so an
// event is either stored and broadcast once, or neither.
import type { Redis } from 'ioredis';
import { ErrorCodes, Keys, STREAM_FIELD, VigilError } from '@vigil/protocol';
import { StreamBytes, appendScriptArgs, type Batch, type WithAppend } from './append-args.js';
import { ByteLines } from './byte-lines.js';
import { EncodedScript, RespArgs } from './resp.js';
import { ClusterWriter } from './cluster-writer.js';
import { isCluster } from './connection.js';

// ARGV: the number of kinds, the number of events, '1' when the positions are wanted back, then 7
// per kind (bound, '1' when the latest slot is written, then the frame template: channel head and
// tail, prefix head and tail, suffix), then ONE argument holding every event as three lines (its
// kind, its frame's fill, its body), each ended by a newline: neither a fill (a room JSON does not
// escape) nor a one-line JSON body holds one. One big argument instead of three per event is what
// makes a tick cheap to encode on the way out; it is written as bytes (ByteLines), never as one big
// string. KEYS: stream and latest slot per event.
// ARGV[3] is '1' (positions back), '0' (none) or '2' (positions back, no SPUBLISH: on a cluster,
// where cluster-writer.ts broadcasts in the channels' slots).
// Returns the positions, in order, when asked; otherwise the number of events.
const APPEND_AND_PUBLISH = `
local kinds = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local wantIds = ARGV[3] ~= '0'
local publish = ARGV[3] ~= '2'
local events = ARGV[4 + kinds * 7]
local find = string.find
local sub = string.sub
local ids = {}
local at = 1
for i = 0, n - 1 do
  local e1 = find(events, '\\n', at, true)
  local e2 = find(events, '\\n', e1 + 1, true)
  local e3 = find(events, '\\n', e2 + 1, true)
  local k = 4 + tonumber(sub(events, at, e1 - 1)) * 7
  local fill = sub(events, e1 + 1, e2 - 1)
  local body = sub(events, e2 + 1, e3 - 1)
  at = e3 + 1
  local id = redis.call('XADD', KEYS[i * 2 + 1], 'MAXLEN', '~', ARGV[k], '*', '${STREAM_FIELD}', body)
  local withPosition = sub(body, 1, -2) .. ',"position":"' .. id .. '"}'
  if ARGV[k + 1] == '1' then
    redis.call('SET', KEYS[i * 2 + 2], withPosition)
  end
  if publish then
    redis.call('SPUBLISH', ARGV[k + 2] .. fill .. ARGV[k + 3], ARGV[k + 4] .. fill .. ARGV[k + 5] .. withPosition .. ARGV[k + 6])
  end
  if wantIds then ids[i + 1] = id end
end
if wantIds then return ids end
return n
`;

// KEYS[1]: the heartbeat set. ARGV: pairs of a score and the members that share it, each member
// ended by a newline (a server id holds none). One argument per heartbeat time instead of two per
// server: a tick's heartbeats all share one time, and thousands of ZADD arguments were a tenth of
// what a tick cost to encode. ZADD is called per 500 members (Lua's unpack has a stack limit).
// Returns the number of members added.
const HEARTBEATS = `
local find = string.find
local sub = string.sub
local added = 0
for a = 1, #ARGV, 2 do
  local score = ARGV[a]
  local members = ARGV[a + 1]
  local args = {}
  local n = 0
  local at = 1
  while true do
    local e = find(members, '\\n', at, true)
    if not e then break end
    args[n + 1] = score
    args[n + 2] = sub(members, at, e - 1)
    n = n + 2
    at = e + 1
    if n == 1000 then
      added = added + redis.call('ZADD', KEYS[1], unpack(args, 1, n))
      n = 0
    end
  end
  if n > 0 then added = added + redis.call('ZADD', KEYS[1], unpack(args, 1, n)) end
end
return added
`;

export type { AppendOp, Batch } from './append-args.js';

/** Whether write() reads back the position Redis gave each append (a writer that ignores them saves the reply). */
export type WriteOptions = { positions?: boolean };

/** String(n), remembered for the last n: a batch repeats the same bound and the same heartbeat time. */
class NumberText {
  #n = Number.NaN;
  #text = '';

  of(n: number): string {
    if (n !== this.#n) {
      this.#n = n;
      this.#text = String(n);
    }
    return this.#text;
  }
}

const APPEND = new EncodedScript(APPEND_AND_PUBLISH);
const HEARTBEAT = new EncodedScript(HEARTBEATS);

export class BatchWriter {
  readonly #redis: Redis;
  /** Each stream's keys and fill as bytes, encoded once per writer. */
  readonly #streams = new StreamBytes();
  /** Buffers to build the next write in, kept from the last answered one. */
  #scratch: Scratch | null = null;
  /** On a Redis Cluster, the write grouped by slot (cluster-writer.ts); null on one node. */
  readonly #cluster: ClusterWriter | null;

  constructor(redis: Redis) {
    this.#redis = redis;
    if (!(redis as unknown as Partial<WithAppend>).vigilAppend) {
      redis.defineCommand('vigilAppend', { lua: APPEND_AND_PUBLISH });
    }
    this.#cluster = isCluster(redis) ? new ClusterWriter(redis) : null;
  }

  /** Broadcasts stored but not yet sent (a cluster node away), and those given up; always 0 on one node. */
  get broadcasts(): { pending: number; dropped: number } {
    return this.#cluster ? this.#cluster.broadcasts : { pending: 0, dropped: 0 };
  }

  /**
   * Writes the batch; resolves with the position of each append, in order (with `positions: false`,
   * with an empty array: Redis then sends no positions back).
   */
  async write(batch: Batch, options: WriteOptions = {}): Promise<string[]> {
    const positions = options.positions !== false;
    if (this.#cluster) return this.#cluster.write(batch, positions);
    const text = new NumberText();
    // The scratch buffers of the last write, if it was answered (its bytes have all been sent then);
    // otherwise new ones, as ioredis may still hold the old ones (a timed-out command still queued).
    const scratch = this.#scratch ?? new Scratch();
    this.#scratch = null;
    // Every argument is built (and checked) before anything is sent: a refused batch writes nothing.
    // The two scripts' arguments are encoded here, not by ioredis (resp.ts says why).
    let append: RespArgs | null = null;
    if (batch.appends.length > 0) {
      append = scratch.append;
      appendScriptArgs(batch.appends, positions ? '1' : '0', this.#streams, append, scratch.events);
    }
    const registry: string[] = [];
    for (const r of batch.registry) registry.push(r.serverId, r.entry);
    const heartbeats = batch.heartbeats.length > 0 ? heartbeatArgs(batch.heartbeats, text, scratch) : null;

    // Sent back to back on the one connection, replies awaited together: still one round trip, in
    // order. Not through ioredis's Pipeline, which copies the whole tick once more into one buffer.
    const redis = this.#redis;
    const calls: Array<Promise<unknown>> = [];
    if (append) calls.push(APPEND.call(redis, append));
    if (registry.length > 0) calls.push(redis.hset(Keys.registry, ...registry));
    if (heartbeats) calls.push(HEARTBEAT.call(redis, heartbeats));
    if (calls.length === 0) return [];
    const results = await Promise.allSettled(calls);
    if (results.every((r) => r.status === 'fulfilled')) this.#scratch = scratch.reset();
    for (const r of results) {
      if (r.status === 'rejected') {
        const err = r.reason as Error;
        throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `batch write failed: ${err.message}`, { cause: err });
      }
    }
    if (!append || !positions) return [];
    const ids = (results[0] as PromiseFulfilledResult<unknown>).value;
    return Array.isArray(ids) ? ids.map(String) : [];
  }
}

/** The buffers one write is built in. */
class Scratch {
  readonly append = new RespArgs(64 * 1024);
  readonly events = new ByteLines(64 * 1024);
  readonly heartbeats = new RespArgs(16 * 1024);
  readonly members = new ByteLines(16 * 1024);

  reset(): this {
    this.append.reset();
    this.events.reset();
    this.heartbeats.reset();
    this.members.reset();
    return this;
  }
}

/** HEARTBEATS' arguments: the key, then each run of one time with its members packed into one newline-ended argument. */
function heartbeatArgs(heartbeats: Batch['heartbeats'], text: NumberText, scratch: Scratch): RespArgs {
  const args = scratch.heartbeats;
  const members = scratch.members;
  args.string('1');
  args.string(Keys.heartbeats);
  let at = heartbeats[0]!.at;
  for (const h of heartbeats) {
    if (h.serverId.indexOf('\n') >= 0) throw new VigilError(ErrorCodes.INTERNAL, 'a heartbeat member must be on one line');
    // Checked here as ZADD would: the script would otherwise add the chunks before a bad score.
    if (!Number.isFinite(h.at)) throw new VigilError(ErrorCodes.INTERNAL, 'a heartbeat time must be a finite number');
    if (h.at !== at) {
      args.string(text.of(at));
      args.bytes(members.view());
      members.reset();
      at = h.at;
    }
    members.string(h.serverId);
    members.byte(0x0a);
  }
  args.string(text.of(at));
  args.bytes(members.view());
  return args;
}
