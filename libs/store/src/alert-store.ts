// Reads alerts back: what fires now (the firing hash) and the history (the alerts stream), each
// entry checked against the protocol schema; a malformed one is skipped and reported.
import type { Redis } from 'ioredis';
import {
  ALERTS_FIRING_MAX,
  AlertBody,
  AlertEvent,
  AlertKeys,
  STREAM_FIELD,
  comparePositions,
  compile,
  parseJson,
} from '@vigil/protocol';

const checkEvent = compile(AlertEvent);
const checkBody = compile(AlertBody);

export type AlertFilter = (alert: AlertEvent) => boolean;
export type AlertPage = { alerts: AlertEvent[]; next: string | null };

/** Rows read per stream round trip while filtering a page of history. */
const SCAN_ROWS = 500;
/** Most history rows one page request reads: a token that sees little cannot make a request unbounded. */
const SCAN_MAX_ROWS = 10_000;

export class AlertStore {
  readonly #redis: Redis;
  readonly #onCorrupt: (what: string) => void;

  constructor(redis: Redis, options: { onCorrupt?: (what: string) => void } = {}) {
    this.#redis = redis;
    this.#onCorrupt = options.onCorrupt ?? (() => {});
  }

  /**
   * The alerts firing now that pass `filter`, newest first, at most ALERTS_FIRING_MAX. `match`: a
   * Redis glob on alert ids (e.g. every `stale`), applied by Redis before anything is parsed here.
   */
  async firing(filter: AlertFilter = () => true, match = '*'): Promise<AlertEvent[]> {
    const out: AlertEvent[] = [];
    let cursor = '0';
    // HSCAN in steps: a huge hash never arrives in one reply, and the loop is bounded by the cap.
    for (let round = 0; round < 1000; round++) {
      const [next, flat] = await this.#redis.hscan(AlertKeys.firing, cursor, 'MATCH', match, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = parseJson(flat[i + 1]!);
        if (!checkEvent.check(value) || value.id !== flat[i]) {
          this.#onCorrupt(`${AlertKeys.firing} ${flat[i]}`);
          continue;
        }
        if (filter(value)) out.push(value);
      }
      cursor = next;
      if (cursor === '0' || out.length >= ALERTS_FIRING_MAX) break;
    }
    out.sort((a, b) => comparePositions(b.position, a.position));
    return out.slice(0, ALERTS_FIRING_MAX);
  }

  /** A page of alert history, newest first, ending just before `before` when given. */
  async history(query: { limit: number; before?: string }, filter: AlertFilter = () => true): Promise<AlertPage> {
    const alerts: AlertEvent[] = [];
    let end = query.before === undefined ? '+' : `(${query.before}`;
    let scanned = 0;
    let last: string | null = null;
    while (alerts.length < query.limit && scanned < SCAN_MAX_ROWS) {
      const rows = (await this.#redis.xrevrange(AlertKeys.stream, end, '-', 'COUNT', SCAN_ROWS)) as [string, string[]][];
      for (const [id, fields] of rows) {
        scanned++;
        last = id;
        const at = fields.indexOf(STREAM_FIELD);
        const body = at >= 0 ? parseJson(fields[at + 1] ?? '') : undefined;
        if (!checkBody.check(body)) {
          this.#onCorrupt(`${AlertKeys.stream} ${id}`);
          continue;
        }
        const alert = { ...body, position: id };
        if (filter(alert)) alerts.push(alert);
        if (alerts.length === query.limit) break;
      }
      if (rows.length < SCAN_ROWS || alerts.length === query.limit) {
        if (rows.length < SCAN_ROWS && alerts.length < query.limit) last = null;
        break;
      }
      end = `(${last!}`;
    }
    return { alerts, next: last };
  }
}
