// Writes one batch of a collector's Redis writes in one round trip (a metrics tick, a supervisor's
// status change or a batch of log lines): for each event, the history entry, the latest value and
// the room broadcast (all carrying the stream id Redis assigned as the position), then the registry
// entries and heartbeats. The append-and-publish step runs as one Lua script, so an
// event is either stored and broadcast once, or neither.
import type { Redis } from 'ioredis';
import { ErrorCodes, Keys, STREAM_FIELD, VigilError } from '@vigil/protocol';
import type { BroadcastFrame } from './adapter-wire.js';

const APPEND_AND_PUBLISH = `
local n = tonumber(ARGV[1])
local ids = {}
for i = 0, n - 1 do
  local a = 2 + i * 6
  local id = redis.call('XADD', KEYS[i * 2 + 1], 'MAXLEN', '~', ARGV[a], '*', '${STREAM_FIELD}', ARGV[a + 1])
  local body = ARGV[a + 1]
  local withPosition = string.sub(body, 1, -2) .. ',"position":"' .. id .. '"}'
  if ARGV[a + 2] == '1' then
    redis.call('SET', KEYS[i * 2 + 2], withPosition)
  end
  redis.call('SPUBLISH', ARGV[a + 3], ARGV[a + 4] .. withPosition .. ARGV[a + 5])
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

type WithAppend = { vigilAppend(...args: (string | number)[]): Promise<string[]> };

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
    if (batch.appends.length > 0) {
      const keys: string[] = [];
      const args: (string | number)[] = [batch.appends.length];
      for (const op of batch.appends) {
        if (!op.body.startsWith('{') || !op.body.endsWith('}')) {
          throw new VigilError(ErrorCodes.INTERNAL, 'append body must be a JSON object');
        }
        // A key is always passed for the latest slot so that KEYS stays positional.
        keys.push(op.stream, op.latestKey ?? op.stream);
        args.push(op.maxLen, op.body, op.latestKey ? '1' : '0', op.frame.channel, op.frame.prefix, op.frame.suffix);
      }
      (pipeline as unknown as WithAppend).vigilAppend(keys.length, ...keys, ...args);
    }
    if (batch.registry.length > 0) {
      const flat: string[] = [];
      for (const r of batch.registry) flat.push(r.serverId, r.entry);
      pipeline.hset(Keys.registry, ...flat);
    }
    if (batch.heartbeats.length > 0) {
      const flat: (string | number)[] = [];
      for (const h of batch.heartbeats) flat.push(h.at, h.serverId);
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
