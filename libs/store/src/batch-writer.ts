// Writes one batch of a collector's Redis writes in one round trip (a metrics tick, a supervisor's
// status change or a batch of log lines): for each event, the history entry, the latest value and
// the room broadcast (all carrying the stream id Redis assigned as the position), then the registry
// entries and heartbeats. The append-and-publish step runs as one Lua script, so an
// event is either stored and broadcast once, or neither.
import type { Redis } from 'ioredis';
import { ErrorCodes, Keys, STREAM_FIELD, VigilError } from '@vigil/protocol';
import type { BroadcastFrame, FrameTemplate } from './adapter-wire.js';

// ARGV: the number of kinds, the number of events, then 7 per kind (bound, '1' when the latest
// slot is written, then the frame template: channel head and tail, prefix head and tail, suffix),
// then 3 per event (its kind, its frame's fill, its body). KEYS: stream and latest slot per event.
const APPEND_AND_PUBLISH = `
local kinds = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local first = 3 + kinds * 7
local ids = {}
for i = 0, n - 1 do
  local a = first + i * 3
  local k = 3 + tonumber(ARGV[a]) * 7
  local fill = ARGV[a + 1]
  local body = ARGV[a + 2]
  local id = redis.call('XADD', KEYS[i * 2 + 1], 'MAXLEN', '~', ARGV[k], '*', '${STREAM_FIELD}', body)
  local withPosition = string.sub(body, 1, -2) .. ',"position":"' .. id .. '"}'
  if ARGV[k + 1] == '1' then
    redis.call('SET', KEYS[i * 2 + 2], withPosition)
  end
  redis.call('SPUBLISH', ARGV[k + 2] .. fill .. ARGV[k + 3], ARGV[k + 4] .. fill .. ARGV[k + 5] .. withPosition .. ARGV[k + 6])
  ids[i + 1] = id
end
return ids
`;

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
type WithAppend = { vigilAppend(numKeys: number, keys: string[], counts: string[], kinds: string[], events: string[]): Promise<string[]> };

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

  constructor(redis: Redis) {
    this.#redis = redis;
    if (!(redis as unknown as Partial<WithAppend>).vigilAppend) {
      redis.defineCommand('vigilAppend', { lua: APPEND_AND_PUBLISH });
    }
  }

  /** Writes the batch; resolves with the position of each append, in order. */
  async write(batch: Batch): Promise<string[]> {
    const pipeline = this.#redis.pipeline();
    const text = new NumberText();
    if (batch.appends.length > 0) {
      const keys: string[] = [];
      const kinds = new Kinds();
      const events: string[] = [];
      for (const op of batch.appends) {
        if (!op.body.startsWith('{') || !op.body.endsWith('}')) {
          throw new VigilError(ErrorCodes.INTERNAL, 'append body must be a JSON object');
        }
        // A key is always passed for the latest slot so that KEYS stays positional.
        keys.push(op.stream, op.latestKey ?? op.stream);
        events.push(kinds.indexOf(op), op.frame.fill, op.body);
      }
      const counts = [String(kinds.count), String(batch.appends.length)];
      (pipeline as unknown as WithAppend).vigilAppend(keys.length, keys, counts, kinds.args, events);
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
    if (batch.appends.length === 0) return [];
    const ids = results[0]?.[1];
    return Array.isArray(ids) ? ids.map(String) : [];
  }
}
