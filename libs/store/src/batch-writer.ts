// Writes one batch of a collector's Redis writes in one round trip (a metrics tick, a supervisor's
// status change or a batch of log lines): for each event, the history entry, the latest value and
// the room broadcast (all carrying the stream id Redis assigned as the position), then the registry
// entries and heartbeats. The append-and-publish step runs as one Lua script, so an
// event is either stored and broadcast once, or neither.
import type { Redis } from 'ioredis';
import { ErrorCodes, Keys, STREAM_FIELD, VigilError } from '@vigil/protocol';
import type { BroadcastFrame, FrameTemplate } from './adapter-wire.js';
import { ClusterWriter } from './cluster-writer.js';
import { isCluster } from './connection.js';

// ARGV: the number of kinds, the number of events, '1' when the positions are wanted back, then 7
// per kind (bound, '1' when the latest slot is written, then the frame template: channel head and
// tail, prefix head and tail, suffix), then ONE argument holding every event as three lines (its
// kind, its frame's fill, its body), each ended by a newline: neither a fill (a room JSON does not
// escape) nor a one-line JSON body holds one. One big argument instead of three per event is what
// makes a tick cheap to encode on the way out. KEYS: stream and latest slot per event.
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

/** Whether write() reads back the position Redis gave each append (a writer that ignores them saves the reply). */
export type WriteOptions = { positions?: boolean };

export type AppendOp = {
  /** Stream that keeps the history of this kind of event for one server. */
  stream: string;
  /** Approximate bound of that stream. */
  maxLen: number;
  /** Key that holds the newest event with its position, or null. */
  latestKey: string | null;
  /** The event payload as a JSON object, without its position. */
  body: string;
  frame: BroadcastFrame;
};

/** What one BatchWriter.write puts into Redis; any part may be empty. */
export type Batch = {
  appends: AppendOp[];
  registry: Array<{ serverId: string; entry: string }>;
  heartbeats: Array<{ serverId: string; at: number }>;
};

/** ioredis flattens array arguments once, into the command: no copies of a tick's thousands of arguments on the way. */
export type WithAppend = { vigilAppend(numKeys: number, keys: string[], counts: string[], kinds: string[], events: string): Promise<string[] | number> };

/** The arguments of one APPEND_AND_PUBLISH call for `appends`; `mode` is its ARGV[3]. */
export function encodeAppends(appends: readonly AppendOp[], mode: '0' | '1' | '2'): Parameters<WithAppend['vigilAppend']> {
  const keys: string[] = [];
  const kinds = new Kinds();
  const events: string[] = [];
  for (const op of appends) {
    const body = op.body;
    if (body.charCodeAt(0) !== OPEN_BRACE || body.charCodeAt(body.length - 1) !== CLOSE_BRACE) {
      throw new VigilError(ErrorCodes.INTERNAL, 'append body must be a JSON object');
    }
    if (body.indexOf('\n') >= 0 || op.frame.fill.indexOf('\n') >= 0) {
      throw new VigilError(ErrorCodes.INTERNAL, 'append body and room must be on one line');
    }
    // A key is always passed for the latest slot so that KEYS stays positional.
    keys.push(op.stream, op.latestKey ?? op.stream);
    events.push(kinds.indexOf(op), op.frame.fill, body);
  }
  // The last event's body needs its newline too.
  events.push('');
  const counts = [String(kinds.count), String(appends.length), mode];
  return [keys.length, keys, counts, kinds.args, events.join('\n')];
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

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

/**
 * The kinds of event in one batch: what events share (bound, latest slot, frame template), sent
 * once; each event then carries only its kind's index. Events come in runs of one kind, so the
 * last one is checked first.
 */
class Kinds {
  readonly args: string[] = [];
  readonly #byTemplate = new Map<FrameTemplate, Array<{ maxLen: number; latest: boolean; index: string }>>();
  #count = 0;
  #last: { template: FrameTemplate; maxLen: number; latest: boolean; index: string } | null = null;

  get count(): number {
    return this.#count;
  }

  indexOf(op: AppendOp): string {
    const template = op.frame.template;
    const latest = op.latestKey !== null;
    const last = this.#last;
    if (last && last.template === template && last.maxLen === op.maxLen && last.latest === latest) return last.index;
    let same = this.#byTemplate.get(template);
    if (!same) this.#byTemplate.set(template, (same = []));
    let kind = same.find((k) => k.maxLen === op.maxLen && k.latest === latest);
    if (!kind) {
      kind = { maxLen: op.maxLen, latest, index: String(this.#count++) };
      same.push(kind);
      this.args.push(String(op.maxLen), latest ? '1' : '0', template.channelHead, template.channelTail, template.prefixHead, template.prefixTail, template.suffix);
    }
    this.#last = { template, ...kind };
    return kind.index;
  }
}

export class BatchWriter {
  readonly #redis: Redis;
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
    const pipeline = this.#redis.pipeline();
    const text = new NumberText();
    if (batch.appends.length > 0) {
      (pipeline as unknown as WithAppend).vigilAppend(...encodeAppends(batch.appends, positions ? '1' : '0'));
    }
    if (batch.registry.length > 0) {
      const flat: string[] = [];
      for (const r of batch.registry) flat.push(r.serverId, r.entry);
      pipeline.hset(Keys.registry, ...flat);
    }
    if (batch.heartbeats.length > 0) {
      const flat: string[] = [];
      for (const h of batch.heartbeats) flat.push(text.of(h.at), h.serverId);
      pipeline.zadd(Keys.heartbeats, ...flat);
    }
    if (pipeline.length === 0) return [];
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (err) {
      throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `batch write failed: ${(err as Error).message}`, { cause: err });
    }
    if (!results) throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, 'batch write failed: no reply');
    for (const [err] of results) {
      if (err) throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, `batch write failed: ${err.message}`, { cause: err });
    }
    if (batch.appends.length === 0 || !positions) return [];
    const ids = results[0]?.[1];
    return Array.isArray(ids) ? ids.map(String) : [];
  }
}
