// The servers view: every registered server with its status, CPU, memory and a sparkline, live;
// sortable columns (a select on narrow screens, where the table becomes cards) and a filter.
import { useState } from 'preact/hooks';
import { formatBytes, formatCount, formatPercent } from './format.js';
import { useTitle } from './hooks.js';
import { useObservable } from './observable.js';
import { HostLink } from './host-link.js';
import { serverHref } from './router.js';
import type { ServerDirectory, ServerRow } from './server-directory.js';
import { Sparkline } from './sparkline.js';
import { StatusPill } from './status-pill.js';
import type { AlertFeed } from './alert-feed.js';
import { AlertDot } from './alerts-badge.js';

type SortKey = 'id' | 'host' | 'pid' | 'status' | 'cpu' | 'rss';
type Sort = { key: SortKey; dir: 'asc' | 'desc' };

const COLUMNS: Array<{ key: SortKey; label: string; numeric?: boolean }> = [
  { key: 'id', label: 'Server' },
  { key: 'host', label: 'Host' },
  { key: 'pid', label: 'PID', numeric: true },
  { key: 'status', label: 'Status' },
  { key: 'cpu', label: 'CPU', numeric: true },
  { key: 'rss', label: 'Memory (RSS)', numeric: true },
];

/** Live figures of a process that is not running would mislead. */
function isLive(row: ServerRow): boolean {
  return row.status !== 'exited';
}

function sortValue(row: ServerRow, key: SortKey): string | number {
  switch (key) {
    case 'pid':
      return row.pid ?? -1;
    case 'cpu':
      return isLive(row) ? (row.cpu ?? -1) : -1;
    case 'rss':
      return isLive(row) ? (row.rss ?? -1) : -1;
    default:
      return row[key].toLowerCase();
  }
}

function compareRows(a: ServerRow, b: ServerRow, sort: Sort): number {
  const va = sortValue(a, sort.key);
  const vb = sortValue(b, sort.key);
  const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
  return (sort.dir === 'asc' ? c : -c) || a.id.localeCompare(b.id);
}

function matches(row: ServerRow, query: string): boolean {
  if (!query) return true;
  const q = query.toLowerCase();
  return row.id.toLowerCase().includes(q) || row.host.toLowerCase().includes(q) || (row.command ?? '').toLowerCase().includes(q);
}

export function ServersPage({ directory, feed }: { directory: ServerDirectory; feed: AlertFeed }) {
  useObservable(directory);
  useObservable(feed);
  useTitle('Servers · vigil');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<Sort>({ key: 'id', dir: 'asc' });
  const all = directory.rows;
  // Rows change in place as samples arrive: filter and sort on every render (cheap for hundreds).
  const rows = all.filter((r) => matches(r, query.trim())).sort((a, b) => compareRows(a, b, sort));

  const toggle = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: key === 'cpu' || key === 'rss' ? 'desc' : 'asc' }));

  return (
    <section class="servers" aria-labelledby="servers-title">
      <div class="page-head">
        <h1 id="servers-title">Servers</h1>
        <p class="muted" aria-live="polite">
          {directory.loaded ? `${formatCount(rows.length)} of ${formatCount(all.length)} shown` : 'Loading…'}
        </p>
      </div>
      <div class="toolbar">
        <label class="field grow">
          <span>Filter</span>
          <input
            type="search"
            value={query}
            placeholder="id, host or command"
            aria-label="Filter servers by id, host or command"
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </label>
        <label class="field narrow-only">
          <span>Sort by</span>
          <select
            value={`${sort.key}:${sort.dir}`}
            onChange={(e) => {
              const [key, dir] = e.currentTarget.value.split(':') as [SortKey, Sort['dir']];
              setSort({ key, dir });
            }}
          >
            {COLUMNS.flatMap((c) => [
              <option key={`${c.key}:asc`} value={`${c.key}:asc`}>
                {c.label} {c.numeric ? '(low first)' : '(A–Z)'}
              </option>,
              <option key={`${c.key}:desc`} value={`${c.key}:desc`}>
                {c.label} {c.numeric ? '(high first)' : '(Z–A)'}
              </option>,
            ])}
          </select>
        </label>
      </div>
      {directory.error && (
        <p class="alert" role="alert">
          {directory.error}
        </p>
      )}
      <table class="server-table" aria-labelledby="servers-title">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                scope="col"
                class={c.numeric ? 'num' : undefined}
                aria-sort={sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button type="button" class="sort" onClick={() => toggle(c.key)}>
                  {c.label}
                  <span class="sort-mark" aria-hidden="true">
                    {sort.key === c.key ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
                  </span>
                </button>
              </th>
            ))}
            <th scope="col">CPU trend</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <ServerRowView key={row.id} row={row} alerts={feed.firingFor(row.id)} />
          ))}
        </tbody>
      </table>
      {directory.loaded && all.length === 0 && <p class="empty">No server is registered yet. Start a collector to see its targets here.</p>}
      {directory.loaded && all.length > 0 && rows.length === 0 && <p class="empty">No server matches “{query}”.</p>}
    </section>
  );
}

function ServerRowView({ row, alerts }: { row: ServerRow; alerts: readonly { severity: string; message: string }[] }) {
  const live = isLive(row);
  return (
    <tr data-server-id={row.id} data-status={row.status} data-alerting={alerts.length > 0 ? 'true' : undefined}>
      <td data-label="Server" class="cell-id">
        <a href={serverHref(row.id)}>{row.id}</a>
        <AlertDot alerts={alerts} />
        {row.command && (
          <span class="command" title={row.command}>
            {row.command}
          </span>
        )}
        {row.error && <span class="row-error">{row.error}</span>}
      </td>
      <td data-label="Host" data-field="host">
        <HostLink host={row.host} />
      </td>
      <td data-label="PID" class="num" data-field="pid">
        {row.pid ?? '—'}
      </td>
      <td data-label="Status" data-field="status">
        <StatusPill status={row.status} />
      </td>
      <td data-label="CPU" class="num" data-field="cpu">
        {live ? formatPercent(row.cpu) : '—'}
      </td>
      <td data-label="Memory" class="num" data-field="rss">
        {live ? formatBytes(row.rss) : '—'}
      </td>
      <td data-label="CPU trend" class="cell-spark">
        <Sparkline series={row.spark} label={`CPU trend of ${row.id}`} />
      </td>
    </tr>
  );
}
