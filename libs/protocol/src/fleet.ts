// The fleet summary: one small row per server, for a list of thousands. `subscribe-fleet` sends a
// snapshot (in parts) and then, at most once per gateway second, the rows that changed and the
// ids that left; `GET /api/servers` pages, filters and sorts the same rows. The filter, its
// matching rule and the REST cursor live here once, for the gateway and the clients alike.
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Position, SERVER_STATUSES, ServerId, ServerStatus, ServerView, type ServerStatus as Status } from './schemas.js';
import { SERVER_ID_MAX_LENGTH } from './limits.js';

/** Most rows one `fleet:update` carries; a larger snapshot (or delta) comes in several parts. */
export const FLEET_SNAPSHOT_PART = 1000;
/** How often a gateway with fleet subscribers reads the fleet from Redis and sends deltas, in ms. */
export const FLEET_REFRESH_MS = 1000;
/** Most servers a gateway's fleet view holds (beyond it, rows are left out and a warning logged). */
export const FLEET_MAX_SERVERS = 100_000;
/** Longest `host` and `collector` filter. */
export const FLEET_FILTER_TEXT_MAX = 255;
/** Most `*` in one glob of a filter. */
export const FLEET_GLOB_STARS_MAX = 8;

/** Characters of a filter text: those of ids and host names, and `*`, the only special one. */
const globPattern = (chars: string) => `^[${chars}]*(?:\\*[${chars}]*){0,${FLEET_GLOB_STARS_MAX}}$`;
const ID_CHARS = 'A-Za-z0-9._:\\-';
const FilterText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: globPattern(ID_CHARS) });

/**
 * Which servers a fleet view shows; fields are ANDed. `id`: a prefix of the server id, or a glob
 * when it holds `*` (only `*` is special). `host`, `collector`: equal, or a glob when they hold `*`.
 */
export const FleetFilter = Type.Object(
  {
    status: Type.Optional(Type.Array(ServerStatus, { minItems: 1, maxItems: SERVER_STATUSES.length, uniqueItems: true })),
    host: Type.Optional(FilterText(FLEET_FILTER_TEXT_MAX)),
    collector: Type.Optional(FilterText(FLEET_FILTER_TEXT_MAX)),
    id: Type.Optional(FilterText(SERVER_ID_MAX_LENGTH)),
  },
  { additionalProperties: false },
);
export type FleetFilter = Static<typeof FleetFilter>;

/** `subscribe-fleet`: a second one on the same connection replaces the filter (a new snapshot follows). */
export const SubscribeFleet = Type.Union([
  Type.Undefined(),
  Type.Null(),
  Type.Object({ filter: Type.Optional(FleetFilter) }, { additionalProperties: false }),
]);
export type SubscribeFleet = Static<typeof SubscribeFleet>;

/** `subscribe-fleet` ack: how many servers match the filter that the token may see. */
export const FleetSubscribed = Type.Object({ total: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type FleetSubscribed = Static<typeof FleetSubscribed>;
/** `unsubscribe-fleet` ack: `{ ok: true }`. */
export const FleetUnsubscribed = Type.Object({}, { additionalProperties: false });

/** What a list row needs of one server. */
export const FleetRow = Type.Object(
  {
    id: ServerId,
    host: Type.String({ maxLength: 255 }),
    collector: Type.String({ maxLength: 255 }),
    /** As reported, or `stale` when the heartbeat is older than the server's staleAfterMs. */
    status: ServerStatus,
    /** Percent of one core, as in `process:info`. */
    cpu: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    /** Bytes. */
    rss: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    /** Seconds. */
    uptime: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    /** Epoch ms of the last sample or heartbeat, whichever is newer. */
    lastSeen: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    /** The latest sample's position. */
    position: Type.Union([Position, Type.Null()]),
  },
  { additionalProperties: false },
);
export type FleetRow = Static<typeof FleetRow>;

/**
 * `fleet:update`. After each subscribe: the snapshot, `snapshot: true` in parts of at most
 * FLEET_SNAPSHOT_PART rows (and removed ids), the last one `complete: true`; it replaces every row the client held.
 * Then deltas (`snapshot: false`): rows that changed, ids that left the view (removed, no longer
 * matching, no longer allowed); at most one per gateway second, none when nothing changed. A delta
 * larger than a part is split the same way (`complete: false` until its last part).
 */
export const FleetUpdate = Type.Object(
  {
    snapshot: Type.Boolean(),
    complete: Type.Boolean(),
    rows: Type.Array(FleetRow, { maxItems: FLEET_SNAPSHOT_PART }),
    removed: Type.Array(ServerId, { maxItems: FLEET_SNAPSHOT_PART }),
    /** Servers matching the filter that the token may see, as of this message. */
    total: Type.Integer({ minimum: 0 }),
    /** Epoch ms at which the gateway read the fleet. */
    timestamp: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type FleetUpdate = Static<typeof FleetUpdate>;

/** What a filter looks at in a row (a FleetRow or a ServerView's fields). */
export type FleetMatchable = { id: string; host: string; collector: string; status: Status };

/** The filter as one predicate; no filter (or an empty one) matches every row. */
export function fleetMatcher(filter: FleetFilter | undefined | null): (row: FleetMatchable) => boolean {
  if (!filter) return () => true;
  const tests: Array<(row: FleetMatchable) => boolean> = [];
  if (filter.status) {
    const statuses = new Set<string>(filter.status);
    tests.push((row) => statuses.has(row.status));
  }
  if (filter.host !== undefined) {
    const match = textMatcher(filter.host, 'equal');
    tests.push((row) => match(row.host));
  }
  if (filter.collector !== undefined) {
    const match = textMatcher(filter.collector, 'equal');
    tests.push((row) => match(row.collector));
  }
  if (filter.id !== undefined) {
    const match = textMatcher(filter.id, 'prefix');
    tests.push((row) => match(row.id));
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (row) => tests.every((test) => test(row));
}

/** Whether a filter lets every row through (the gateway's cheap path). */
export function isEmptyFleetFilter(filter: FleetFilter | undefined | null): boolean {
  return !filter || (filter.status === undefined && filter.host === undefined && filter.collector === undefined && filter.id === undefined);
}

/**
 * `*` matches any run of characters; without one, the text is a prefix (`id`) or must be equal.
 * No regular expression: the parts are found left to right, so a glob costs linear time.
 */
function textMatcher(text: string, plain: 'prefix' | 'equal'): (value: string) => boolean {
  if (!text.includes('*')) return plain === 'prefix' ? (v) => v.startsWith(text) : (v) => v === text;
  const parts = text.split('*');
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const fixed = head.length + tail.length;
  return (v) => {
    if (v.length < fixed || !v.startsWith(head) || !v.endsWith(tail)) return false;
    let at = head.length;
    const end = v.length - tail.length;
    for (const part of middle) {
      const found = v.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

// ---- REST: GET /api/servers ---------------------------------------------------------------

export const SERVER_SORTS = ['id', 'host', 'status', 'cpu', 'rss', 'lastSeen'] as const;
export type ServerSort = (typeof SERVER_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
/** Longest cursor accepted. */
export const SERVER_CURSOR_MAX_LENGTH = 512;

const statusList = `(?:${SERVER_STATUSES.join('|')})`;

/** `GET /api/servers` query: a page, filtered (as FleetFilter; `status` comma-separated) and sorted (ties by id). */
export const ServersQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: SERVER_CURSOR_MAX_LENGTH, pattern: '^[A-Za-z0-9_-]+$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT })),
    status: Type.Optional(Type.String({ maxLength: 64, pattern: `^${statusList}(?:,${statusList}){0,4}$` })),
    host: Type.Optional(FilterText(FLEET_FILTER_TEXT_MAX)),
    collector: Type.Optional(FilterText(FLEET_FILTER_TEXT_MAX)),
    id: Type.Optional(FilterText(SERVER_ID_MAX_LENGTH)),
    sort: Type.Optional(Type.Union(SERVER_SORTS.map((s) => Type.Literal(s)))),
    order: Type.Optional(Type.Union(SORT_ORDERS.map((o) => Type.Literal(o)))),
  },
  { additionalProperties: false },
);
export type ServersQuery = Static<typeof ServersQuery>;

/** `GET /api/servers`: one page; `next` is the cursor of the following page, null after the last. */
export const ServerPage = Type.Object(
  {
    servers: Type.Array(ServerView),
    next: Type.Union([Type.String({ maxLength: SERVER_CURSOR_MAX_LENGTH }), Type.Null()]),
    /** Servers matching the filter that the token may see. */
    total: Type.Integer({ minimum: 0 }),
  },
  { description: 'a page of the servers this token may see, filtered and sorted' },
);
export type ServerPage = Static<typeof ServerPage>;

/** The filter of a ServersQuery, as a FleetFilter. */
export function filterOfQuery(query: Pick<ServersQuery, 'status' | 'host' | 'collector' | 'id'>): FleetFilter {
  return {
    ...(query.status !== undefined ? { status: [...new Set(query.status.split(','))] as Status[] } : {}),
    ...(query.host !== undefined ? { host: query.host } : {}),
    ...(query.collector !== undefined ? { collector: query.collector } : {}),
    ...(query.id !== undefined ? { id: query.id } : {}),
  };
}

/** Where a page ended: the sort it belongs to, the last row's sort key and its id (keyset paging). */
export type ServerCursor = { sort: ServerSort; order: SortOrder; key: string | number | null; id: string };

/** What a cursor holds, checked when a cursor comes back. */
export const ServerCursorBody = Type.Object(
  {
    s: Type.Union(SERVER_SORTS.map((s) => Type.Literal(s))),
    o: Type.Union(SORT_ORDERS.map((o) => Type.Literal(o))),
    k: Type.Union([Type.String({ maxLength: 255 }), Type.Number(), Type.Null()]),
    i: ServerId,
  },
  { additionalProperties: false },
);

/** Encodes a cursor (base64url of a small JSON: opaque to clients). */
export function encodeServerCursor(cursor: ServerCursor): string {
  const json = JSON.stringify({ s: cursor.sort, o: cursor.order, k: cursor.key, i: cursor.id });
  return base64UrlEncode(json);
}

/** The JSON text inside a cursor, or null when it is not base64url (the caller checks the JSON against ServerCursorBody). */
export function cursorText(cursor: string): string | null {
  try {
    return base64UrlDecode(cursor);
  } catch {
    return null;
  }
}

// base64url without Buffer (the protocol runs in browsers too); cursors are ASCII JSON.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64UrlEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

function base64UrlDecode(text: string): string {
  if (text.length % 4 === 1) throw new Error('bad length');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    const chunk = text.slice(i, i + 4);
    for (let c = 0; c < 4; c++) {
      const v = c < chunk.length ? ALPHABET.indexOf(chunk[c]!) : 0;
      if (v < 0) throw new Error('bad character');
      n = (n << 6) | v;
    }
    bytes.push((n >> 16) & 255);
    if (chunk.length > 2) bytes.push((n >> 8) & 255);
    if (chunk.length > 3) bytes.push(n & 255);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

/** Epoch ms of an ISO time, or null. */
export function epochMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}
