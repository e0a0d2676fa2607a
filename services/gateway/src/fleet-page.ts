// A page of `GET /api/servers`, from the fleet view's rows: filtered and token-scoped like a fleet
// subscription, sorted by one key (nulls last either way, ties by id), and continued by keyset:
// the cursor holds the last row's key and id, so pages cover every server once however the
// fleet grows or shrinks between them (a row whose sort key changes meanwhile may move across
// the cursor, as in any live list sorted by a live figure).
import {
  ErrorCodes,
  ServerCursorBody,
  VigilError,
  compile,
  cursorText,
  encodeServerCursor,
  parseJson,
  type FleetFilter,
  type FleetRow,
  type Permissions,
  type ServerCursor,
  type ServerSort,
  type SortOrder,
} from '@vigil/protocol';
import type { FleetView } from './fleet-view.js';
import { visibility } from './fleet-subscriber.js';

const checkCursor = compile(ServerCursorBody);
const NUMERIC: ReadonlySet<ServerSort> = new Set(['cpu', 'rss', 'lastSeen']);

export type PageQuery = { filter: FleetFilter; sort: ServerSort; order: SortOrder; limit: number; cursor: string | undefined };

/** The ids of one page, in order, the cursor of the next page (null after the last), and how many match. */
export function fleetPage(view: FleetView, permissions: Permissions, query: PageQuery): { ids: string[]; next: string | null; total: number } {
  const { sort, order, limit } = query;
  const after = query.cursor === undefined ? null : readCursor(query.cursor, sort, order);
  const visible = visibility(query.filter, permissions);
  const rows: FleetRow[] = [];
  for (const s of view.servers()) if (visible(s.row)) rows.push(s.row);
  const total = rows.length;
  const compare = (a: FleetRow, b: FleetRow) => compareKeys(keyOf(a, sort), keyOf(b, sort), order) || compareIds(a.id, b.id);
  const rest = after === null ? rows : rows.filter((r) => (compareKeys(keyOf(r, sort), after.key, order) || compareIds(r.id, after.id)) > 0);
  rest.sort(compare);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  const next = rest.length > limit && last ? encodeServerCursor({ sort, order, key: keyOf(last, sort), id: last.id }) : null;
  return { ids: page.map((r) => r.id), next, total };
}

function keyOf(row: FleetRow, sort: ServerSort): string | number | null {
  return row[sort];
}

/** Nulls last in either order. */
function compareKeys(a: string | number | null, b: string | number | null, order: SortOrder): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const base = a < b ? -1 : a > b ? 1 : 0;
  return order === 'desc' ? -base : base;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A cursor this gateway (or another) made for this sort; anything else is VIGIL_ERR_INVALID_QUERY. */
function readCursor(text: string, sort: ServerSort, order: SortOrder): ServerCursor {
  const body = parseJson(cursorText(text) ?? '');
  if (!checkCursor.check(body)) throw new VigilError(ErrorCodes.INVALID_QUERY, 'cursor: not a cursor of GET /api/servers; start again without one');
  if (body.s !== sort || body.o !== order) {
    throw new VigilError(ErrorCodes.INVALID_QUERY, `cursor: it continues sort=${body.s}&order=${body.o}, not sort=${sort}&order=${order}`);
  }
  const numeric = NUMERIC.has(sort);
  if (numeric ? typeof body.k === 'string' : typeof body.k !== 'string') {
    throw new VigilError(ErrorCodes.INVALID_QUERY, 'cursor: its key does not fit its sort; start again without one');
  }
  return { sort, order, key: body.k, id: body.i };
}
