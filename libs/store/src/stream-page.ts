// One page of a Redis stream history, oldest first: the paging rule that server metrics and
// host metrics share. Each row is parsed by the caller; rows it rejects (null) are skipped.
import type { Redis } from 'ioredis';

export type StreamPage<T> = {
  items: T[];
  /** Where to continue in the same direction (`before` when paging back, `after` forward); null at the end. */
  next: string | null;
};

/** With `before`, the page ends just before that position; with `after`, it starts just after it. */
export async function pageStream<T>(
  redis: Redis,
  key: string,
  query: { before?: string; after?: string; limit: number },
  parse: (id: string, fields: string[]) => T | null,
): Promise<StreamPage<T>> {
  let rows: [string, string[]][];
  let more: boolean;
  let nextRow: number;
  if (query.after !== undefined) {
    rows = (await redis.xrange(key, `(${query.after}`, '+', 'COUNT', query.limit + 1)) as [string, string[]][];
    more = rows.length > query.limit;
    rows = rows.slice(0, query.limit);
    nextRow = rows.length - 1;
  } else {
    const end = query.before === undefined ? '+' : `(${query.before}`;
    rows = (await redis.xrevrange(key, end, '-', 'COUNT', query.limit + 1)) as [string, string[]][];
    more = rows.length > query.limit;
    rows = rows.slice(0, query.limit).reverse();
    nextRow = 0;
  }
  const items: T[] = [];
  for (const [id, fields] of rows) {
    const item = parse(id, fields);
    if (item !== null) items.push(item);
  }
  return { items, next: more && rows.length > 0 ? rows[nextRow]![0] : null };
}
