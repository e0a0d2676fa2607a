// How the fleet list orders and narrows its rows: the sort (any column, either way, ties by id),
// the filter form turned into the FleetFilter the gateway applies, and the same filter applied in
// the page, so the list narrows at once while the gateway's new snapshot is on its way.
import { SERVER_STATUSES, type ServerStatus } from '@vigil/protocol';
import type { FleetFilter, FleetRow } from './fleet-types.js';

export type SortKey = 'id' | 'host' | 'collector' | 'status' | 'cpu' | 'rss' | 'uptime' | 'lastSeen';
export type SortDir = 'asc' | 'desc';
export type Sort = { key: SortKey; dir: SortDir };

export const SORT_KEYS: readonly SortKey[] = ['id', 'host', 'collector', 'status', 'cpu', 'rss', 'uptime', 'lastSeen'];
const NUMERIC: ReadonlySet<SortKey> = new Set(['cpu', 'rss', 'uptime', 'lastSeen']);

export function isNumericKey(key: SortKey): boolean {
  return NUMERIC.has(key);
}

/** The direction a column sorts in when first chosen: biggest first for figures. */
export function firstDirection(key: SortKey): SortDir {
  return key === 'cpu' || key === 'rss' ? 'desc' : 'asc';
}

/** A click on a column's header: the other direction on the current column, else its first one. */
export function toggleSort(sort: Sort, key: SortKey): Sort {
  return sort.key === key ? { key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: firstDirection(key) };
}

/** Live figures of a process that is not running would mislead. */
export function isLive(row: Pick<FleetRow, 'status'>): boolean {
  return row.status !== 'exited' && row.status !== 'stopped';
}

/** The value a row sorts by: a number (missing or not live: -1, so below every real figure) or a string. */
export function sortValue(row: FleetRow, key: SortKey): string | number {
  switch (key) {
    case 'cpu':
      return isLive(row) ? (row.cpu ?? -1) : -1;
    case 'rss':
      return isLive(row) ? (row.rss ?? -1) : -1;
    case 'uptime':
      return isLive(row) ? (row.uptime ?? -1) : -1;
    case 'lastSeen':
      return row.lastSeen ?? -1;
    default:
      return row[key];
  }
}

// Code-unit order, as Redis and Array.prototype.sort order ids: cheap (no collation) for 10,000 rows.
function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export function compareRows(a: FleetRow, b: FleetRow, sort: Sort): number {
  const c = compareValues(sortValue(a, sort.key), sortValue(b, sort.key));
  if (c !== 0) return sort.dir === 'asc' ? c : -c;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The rows in display order (a new array; the input is left alone). */
export function sortRows(rows: Iterable<FleetRow>, sort: Sort): FleetRow[] {
  return [...rows].sort((a, b) => compareRows(a, b, sort));
}

// ---- filter ---------------------------------------------------------------------------------

/** What the filter controls hold: '' means "any". */
export type FilterForm = { status: '' | ServerStatus; host: string; collector: string; id: string };

export const EMPTY_FORM: FilterForm = { status: '', host: '', collector: '', id: '' };

/** Longest text a filter field sends (the gateway refuses longer ones). */
export const FILTER_TEXT_MAX = 200;

export function isServerStatus(value: string): value is ServerStatus {
  return (SERVER_STATUSES as readonly string[]).includes(value);
}

/** The form as the gateway's filter: blank fields left out, text trimmed and cut to FILTER_TEXT_MAX. */
export function filterFromForm(form: FilterForm): FleetFilter {
  const filter: FleetFilter = {};
  if (form.status && isServerStatus(form.status)) filter.status = [form.status];
  const text = (value: string) => value.trim().slice(0, FILTER_TEXT_MAX);
  const host = text(form.host);
  const collector = text(form.collector);
  const id = text(form.id);
  if (host) filter.host = host;
  if (collector) filter.collector = collector;
  if (id) filter.id = id;
  return filter;
}

export function sameFilter(a: FleetFilter, b: FleetFilter): boolean {
  return (
    (a.status ?? []).join(',') === (b.status ?? []).join(',') &&
    (a.host ?? '') === (b.host ?? '') &&
    (a.collector ?? '') === (b.collector ?? '') &&
    (a.id ?? '') === (b.id ?? '')
  );
}

export function isEmptyFilter(filter: FleetFilter): boolean {
  return sameFilter(filter, {});
}

/** An id pattern as a test: a prefix, or a glob (whole id) when it holds `*`, the only special character. */
export function idMatcher(pattern: string): (id: string) => boolean {
  if (!pattern.includes('*')) return (id) => id.startsWith(pattern);
  const parts = pattern.split('*');
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p.length > 0);
  return (id) => {
    if (id.length < head.length + tail.length || !id.startsWith(head) || !id.endsWith(tail)) return false;
    // Each middle part, leftmost first, between the head and the tail: greedy is exact for `*` alone.
    let at = head.length;
    const stop = id.length - tail.length;
    for (const part of middle) {
      const found = id.indexOf(part, at);
      if (found < 0 || found + part.length > stop) return false;
      at = found + part.length;
    }
    return true;
  };
}

/** The filter as the page applies it (the gateway's rules: every given field must hold, host and collector exactly). */
export function fleetMatcher(filter: FleetFilter): (row: FleetRow) => boolean {
  const statuses = filter.status && filter.status.length > 0 ? new Set<string>(filter.status) : null;
  const id = filter.id ? idMatcher(filter.id) : null;
  return (row) =>
    (statuses === null || statuses.has(row.status)) &&
    (filter.host === undefined || row.host === filter.host) &&
    (filter.collector === undefined || row.collector === filter.collector) &&
    (id === null || id(row.id));
}
