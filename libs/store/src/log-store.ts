// Reads log history: pages forward (resume after a position) or backward (scroll up), filtered
// by level, and tells whether lines after a position were trimmed away (a gap).
import type { Redis } from 'ioredis';
import {
  Keys,
  ProcessLogsBody,
  STREAM_FIELD,
  comparePositions,
  compile,
  meetsLevel,
  parseJson,
  type LogLevel,
  type ProcessLogsEvent,
} from '@vigil/protocol';

const checkBody = compile(ProcessLogsBody);
const CHUNK = 500;

export type LogPage = {
  items: ProcessLogsEvent[];
  /** Where to continue in the same direction; null when the stream has nothing further. */
  next: string | null;
};

export type LogQuery = {
  level: LogLevel;
  limit: number;
  /** Forward from just after this position (oldest first). */
  after?: string;
  /** Backward from just before this position; without `after` or `before`, the newest lines. */
  before?: string;
  direction: 'forward' | 'backward';
};

export class LogStore {
  readonly #redis: Redis;
  readonly #onCorrupt: (what: string) => void;

  constructor(redis: Redis, options: { onCorrupt?: (what: string) => void } = {}) {
    this.#redis = redis;
    this.#onCorrupt = options.onCorrupt ?? (() => {});
  }

  /** Up to `limit` lines at or above `level`, oldest first, scanning as far as needed. */
  async page(serverId: string, q: LogQuery): Promise<LogPage> {
    const key = Keys.logs(serverId);
    const found: ProcessLogsEvent[] = [];
    let cursor = q.direction === 'forward' ? (q.after !== undefined ? `(${q.after}` : '-') : q.before !== undefined ? `(${q.before}` : '+';
    let lastScanned: string | null = null;
    for (;;) {
      const rows = (
        q.direction === 'forward'
          ? await this.#redis.xrange(key, cursor, '+', 'COUNT', CHUNK)
          : await this.#redis.xrevrange(key, cursor, '-', 'COUNT', CHUNK)
      ) as [string, string[]][];
      for (let i = 0; i < rows.length; i++) {
        const [id, fields] = rows[i]!;
        lastScanned = id;
        const line = this.#parse(serverId, id, fields);
        if (line && meetsLevel(line.logData.level, q.level)) {
          found.push(line);
          if (found.length === q.limit) {
            const exhausted = i === rows.length - 1 && rows.length < CHUNK;
            return this.#finish(found, q, exhausted ? null : id);
          }
        }
      }
      if (rows.length < CHUNK || lastScanned === null) return this.#finish(found, q, null);
      cursor = `(${lastScanned}`;
    }
  }

  /**
   * True when lines after `since` were removed from history: a client resuming there lost some.
   * Trimming (MAXLEN) does not move `max-deleted-entry-id` (only XDEL does), so a trim is seen
   * as entries added beyond the length with the first kept entry after `since`. Conservative:
   * if `since` was exactly the last line trimmed, it still says gap.
   */
  async gapAfter(serverId: string, since: string): Promise<boolean> {
    let info: unknown[];
    try {
      info = (await this.#redis.xinfo('STREAM', Keys.logs(serverId))) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return false;
      throw err;
    }
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at >= 0 ? info[at + 1] : undefined;
    };
    const maxDeleted = String(field('max-deleted-entry-id') ?? '0-0');
    if (comparePositions(maxDeleted, since) > 0) return true;
    const added = Number(field('entries-added') ?? 0);
    const length = Number(field('length') ?? 0);
    const firstEntry = field('first-entry');
    const first = String(field('recorded-first-entry-id') ?? (Array.isArray(firstEntry) ? firstEntry[0] : '0-0'));
    return added > length && comparePositions(since, first) < 0;
  }

  /** The newest position in the log stream, or null when there is none. */
  async head(serverId: string): Promise<string | null> {
    const rows = (await this.#redis.xrevrange(Keys.logs(serverId), '+', '-', 'COUNT', 1)) as [string, string[]][];
    return rows[0]?.[0] ?? null;
  }

  #finish(found: ProcessLogsEvent[], q: LogQuery, next: string | null): LogPage {
    return { items: q.direction === 'forward' ? found : found.reverse(), next };
  }

  #parse(serverId: string, id: string, fields: string[]): ProcessLogsEvent | null {
    const at = fields.indexOf(STREAM_FIELD);
    const body = at >= 0 ? parseJson(fields[at + 1] ?? '') : undefined;
    if (checkBody.check(body) && body.serverId === serverId) return { ...body, position: id };
    this.#onCorrupt(`${Keys.logs(serverId)} ${id}`);
    return null;
  }
}
