// The servers view: the whole fleet from one fleet subscription, drawn a screen at a time
// (virtual-list.tsx): status, CPU, memory, uptime and a CPU trend per server, live; sortable
// columns (a select on narrow screens, where rows become cards) and a filter the gateway applies
// (status, host, collector, id prefix or glob).
import { Component } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AlertEvent } from '@vigil/client';
import { SERVER_STATUSES, isEmptyFleetFilter } from '@vigil/protocol';
import type { AlertFeed } from './alert-feed.js';
import { AlertDot } from './alerts-badge.js';
import type { FleetDirectory } from './fleet-directory.js';
import type { FleetRow } from './fleet-types.js';
import { EMPTY_FORM, SORT_KEYS, filterFromForm, filterProblem, isLive, isNumericKey, isServerStatus, toggleSort, type FilterForm, type SortKey } from './fleet-view.js';
import { formatBytes, formatCount, formatDuration, formatPercent } from './format.js';
import { useTitle } from './hooks.js';
import { HostLink } from './host-link.js';
import { useObservable } from './observable.js';
import { serverHref } from './router.js';
import { Sparkline } from './sparkline.js';
import { StatusPill } from './status-pill.js';
import { VirtualRows } from './virtual-list.js';

/** Typing settles this long before the gateway is asked for the new filter. */
const FILTER_DEBOUNCE_MS = 250;

const LABELS: Record<SortKey, string> = {
  id: 'Server',
  host: 'Host',
  collector: 'Collector',
  status: 'Status',
  cpu: 'CPU',
  rss: 'Memory (RSS)',
  uptime: 'Uptime',
  lastSeen: 'Last seen',
};
/** The columns, in order (last seen sorts from the select only). */
const COLUMNS: SortKey[] = ['id', 'host', 'collector', 'status', 'cpu', 'rss', 'uptime'];

export function ServersPage({ directory, feed }: { directory: FleetDirectory; feed: AlertFeed }) {
  useObservable(directory);
  useObservable(feed);
  useTitle('Servers · vigil');
  useEffect(() => {
    directory.start();
    return () => directory.stop();
  }, [directory]);
  const rows = directory.rows;
  const sort = directory.sort;
  const filtered = !isEmptyFleetFilter(directory.filter);
  // The few servers with an alert firing, once per render (rows look theirs up).
  const alerts = new Map<string, AlertEvent[]>();
  for (const a of feed.firing) {
    const list = alerts.get(a.serverId);
    if (list) list.push(a);
    else alerts.set(a.serverId, [a]);
  }

  const header = (
    <div class="fleet-head" role="row" aria-rowindex={1}>
      {COLUMNS.map((key) => (
        <div
          key={key}
          role="columnheader"
          class={isNumericKey(key) ? 'num' : undefined}
          aria-sort={sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
        >
          <button type="button" class="sort" onClick={() => directory.setSort(toggleSort(sort, key))}>
            {LABELS[key]}
            <span class="sort-mark" aria-hidden="true">
              {sort.key === key ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
            </span>
          </button>
        </div>
      ))}
      <div role="columnheader">CPU trend</div>
    </div>
  );

  return (
    <section class="servers" aria-labelledby="servers-title">
      <div class="page-head">
        <h1 id="servers-title">Servers</h1>
        <p class="muted" aria-live="polite" data-testid="fleet-count" data-total={directory.loaded ? directory.total : undefined}>
          {directory.loaded ? `${formatCount(directory.total)} ${directory.total === 1 ? 'server' : 'servers'}${filtered ? ' match the filter' : ''}` : 'Loading…'}
        </p>
      </div>
      <FilterBar directory={directory} />
      {directory.error && (
        <p class="alert" role="alert">
          {directory.error}
        </p>
      )}
      <VirtualRows
        class="fleet"
        label="Servers"
        count={rows.length}
        header={header}
        resetKey={`${sort.key}:${sort.dir}:${JSON.stringify(directory.filter)}`}
        renderRow={(index, slot, top) => {
          const row = rows[index]!;
          const firing = alerts.get(row.id);
          return (
            <FleetRowView
              key={slot}
              row={row}
              index={index}
              top={top}
              spark={directory.sparkStamp(row.id)}
              directory={directory}
              alerts={firing ?? NO_ALERTS}
              alertKey={firing ? firing.map((a) => `${a.id}:${a.severity}`).join() : ''}
            />
          );
        }}
      />
      {directory.loaded && rows.length === 0 && !filtered && <p class="empty">No server is registered yet. Start a collector to see its targets here.</p>}
      {directory.loaded && rows.length === 0 && filtered && <p class="empty">No server matches the filter.</p>}
    </section>
  );
}

const NO_ALERTS: AlertEvent[] = [];

function FilterBar({ directory }: { directory: FleetDirectory }) {
  const [form, setForm] = useState<FilterForm>(EMPTY_FORM);
  const [problem, setProblem] = useState<{ field: string; message: string } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  const apply = (next: FilterForm) => {
    const filter = filterFromForm(next);
    const wrong = filterProblem(filter);
    setProblem(wrong);
    if (!wrong) directory.setFilter(filter);
  };
  const update = (patch: Partial<FilterForm>, now = false) => {
    const next = { ...form, ...patch };
    setForm(next);
    clearTimeout(timer.current);
    if (now) apply(next);
    else timer.current = setTimeout(() => apply(next), FILTER_DEBOUNCE_MS);
  };
  const sort = directory.sort;
  const text = (key: 'id' | 'host' | 'collector', label: string, placeholder: string, describe: string) => (
    <label class={`field${key === 'id' ? ' grow' : ''}`}>
      <span>{label}</span>
      <input
        type="search"
        value={form[key]}
        placeholder={placeholder}
        aria-label={describe}
        spellcheck={false}
        autocomplete="off"
        aria-invalid={problem?.field === key ? 'true' : undefined}
        aria-describedby={problem?.field === key ? 'filter-problem' : undefined}
        onInput={(e) => update({ [key]: e.currentTarget.value })}
      />
    </label>
  );
  return (
    <div class="toolbar" role="search" aria-label="Filter servers">
      {text('id', 'Server id', 'prefix, or a glob: web-*-eu', 'Filter servers by id: a prefix, or a glob with *')}
      <label class="field">
        <span>Status</span>
        <select value={form.status} aria-label="Filter servers by status" onChange={(e) => update({ status: isServerStatus(e.currentTarget.value) ? e.currentTarget.value : '' }, true)}>
          <option value="">any</option>
          {SERVER_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {text('host', 'Host', 'name, or a glob: rack-*', 'Filter servers by host')}
      {text('collector', 'Collector', 'id, or a glob', 'Filter servers by collector')}
      <label class="field narrow-only">
        <span>Sort by</span>
        <select
          value={`${sort.key}:${sort.dir}`}
          onChange={(e) => {
            const [key, dir] = e.currentTarget.value.split(':') as [SortKey, 'asc' | 'desc'];
            directory.setSort({ key, dir });
          }}
        >
          {SORT_KEYS.flatMap((k) => [
            <option key={`${k}:asc`} value={`${k}:asc`}>
              {LABELS[k]} {isNumericKey(k) ? '(low first)' : '(A–Z)'}
            </option>,
            <option key={`${k}:desc`} value={`${k}:desc`}>
              {LABELS[k]} {isNumericKey(k) ? '(high first)' : '(Z–A)'}
            </option>,
          ])}
        </select>
      </label>
      {problem && (
        <p class="field-problem" id="filter-problem" role="alert">
          {LABEL_OF_FIELD[problem.field] ?? problem.field}: {problem.message}
        </p>
      )}
    </div>
  );
}

const LABEL_OF_FIELD: Record<string, string> = { id: 'Server id', host: 'Host', collector: 'Collector', status: 'Status' };

type RowProps = {
  row: FleetRow;
  index: number;
  top: number;
  /** Changes when the row's trend gains a point. */
  spark: string;
  directory: FleetDirectory;
  alerts: readonly AlertEvent[];
  alertKey: string;
};

function sameRow(a: FleetRow, b: FleetRow): boolean {
  return (
    a === b ||
    (a.id === b.id && a.status === b.status && a.cpu === b.cpu && a.rss === b.rss && a.uptime === b.uptime && a.host === b.host && a.collector === b.collector)
  );
}

/** One row; drawn again only when what it shows changed (scrolling moves most rows untouched). */
class FleetRowView extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return !sameRow(p.row, next.row) || p.index !== next.index || p.top !== next.top || p.spark !== next.spark || p.alertKey !== next.alertKey;
  }

  override render() {
    const { row, index, top, directory, alerts } = this.props;
    const live = isLive(row);
    return (
      <div
        class="fleet-row"
        role="row"
        aria-rowindex={index + 2}
        data-server-id={row.id}
        data-status={row.status}
        data-alerting={alerts.length > 0 ? 'true' : undefined}
        style={{ transform: `translateY(${top}px)` }}
      >
        <div role="cell" data-label="Server" class="cell-id">
          <a href={serverHref(row.id)} title={row.id}>
            {row.id}
          </a>
          <AlertDot alerts={alerts} />
        </div>
        <div role="cell" data-label="Host" data-field="host">
          <HostLink host={row.host} />
        </div>
        <div role="cell" data-label="Collector" data-field="collector">
          {row.collector}
        </div>
        <div role="cell" data-label="Status" data-field="status">
          <StatusPill status={row.status} />
        </div>
        <div role="cell" data-label="CPU" class="num" data-field="cpu">
          {live ? formatPercent(row.cpu) : '—'}
        </div>
        <div role="cell" data-label="Memory" class="num" data-field="rss">
          {live ? formatBytes(row.rss) : '—'}
        </div>
        <div role="cell" data-label="Uptime" class="num" data-field="uptime">
          {live ? formatDuration(row.uptime) : '—'}
        </div>
        <div role="cell" data-label="CPU trend" class="cell-spark">
          <Sparkline points={directory.sparkOf(row.id)} label={`CPU trend of ${row.id}`} />
        </div>
      </div>
    );
  }
}
