// One host: its facts, live CPU (total and per core), load, memory and network charts, and the
// usage of its mounts. History on open, then live.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { HostMetrics, VigilClient } from '@vigil/client';
import type { RestApi } from './api.js';
import { FactList, type Fact } from './fact-list.js';
import { formatBytes, formatDuration, formatPercent } from './format.js';
import { useTitle } from './hooks.js';
import { HostMonitor, type HostPoint } from './host-monitor.js';
import { useObservable } from './observable.js';
import { serversHref } from './router.js';
import { TimeChart } from './time-chart.js';

type Props = { client: VigilClient; api: RestApi; host: string };

const formatRate = (v: number) => `${formatBytes(v)}/s`;
const formatLoad = (v: number) => v.toFixed(2);

export function HostPage({ client, api, host }: Props) {
  const monitor = useMemo(() => new HostMonitor(client, api, host), [client, api, host]);
  useEffect(() => {
    monitor.start();
    return () => monitor.stop();
  }, [monitor]);
  useObservable(monitor);
  useTitle(`${host} · host · vigil`);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [host]);

  const series = monitor.series;
  const version = `${series.length}:${series.last?.position ?? ''}`;
  const data = monitor.latest?.data ?? null;
  const chart = (title: string, field: keyof Omit<HostPoint, 'position' | 'time'>, format: (v: number) => string, color: string, minTop: number) => (
    <TimeChart
      title={title}
      series={series}
      field={field}
      format={format}
      color={color}
      minTop={minTop}
      version={version}
      summary={series.last ? `now ${format(series.last[field])}` : 'no live samples'}
    />
  );

  return (
    <section class="server host" aria-labelledby="host-title" data-host={host}>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={serversHref}>← All servers</a>
      </nav>
      <div class="page-head">
        <h1 id="host-title" tabIndex={-1} ref={heading}>
          {host}
        </h1>
        <span class="muted">host</span>
      </div>
      {monitor.forbidden && (
        <p class="notice not-allowed" role="status" data-testid="not-allowed">
          Your sign-in does not allow you to see host “{host}”. Ask for a token whose <code>hosts</code> cover it.
        </p>
      )}
      {monitor.found === false && !monitor.forbidden && (
        <p class="alert" role="alert">
          No collector has reported host “{host}” (yet). This page shows it as soon as one does.
        </p>
      )}
      {monitor.error && (
        <p class="alert" role="alert">
          {monitor.error}
        </p>
      )}
      {!monitor.forbidden && (
        <>
          <HostFacts data={data} collectors={monitor.detail?.collectors.map((c) => c.collectorId) ?? []} />
          <div class="charts">
            {chart('CPU', 'cpu', formatPercent, '#5eb1ff', 5)}
            {chart('Load (1 min)', 'load1', formatLoad, '#ffb86b', 1)}
            {chart('Memory used', 'memoryUsed', formatBytes, '#b48cff', 1024 * 1024)}
            {chart('Network in', 'rx', formatRate, '#6be3a4', 1024)}
            {chart('Network out', 'tx', formatRate, '#ff7b9c', 1024)}
          </div>
          {data && <Cores cores={data.cpu.cores} count={data.cpu.count} />}
          {data && <Mounts mounts={data.mounts} />}
        </>
      )}
    </section>
  );
}

function HostFacts({ data, collectors }: { data: HostMetrics | null; collectors: string[] }) {
  const items: Fact[] = [
    ['uptime', 'Uptime', formatDuration(data?.uptime)],
    ['cores', 'Cores', data ? String(data.cpu.count) : '—'],
    ['load', 'Load 1 / 5 / 15', data ? `${formatLoad(data.load.one)} / ${formatLoad(data.load.five)} / ${formatLoad(data.load.fifteen)}` : '—'],
    ['memory', 'Memory', data ? `${formatBytes(data.memory.used)} of ${formatBytes(data.memory.total)}` : '—'],
    ['swap', 'Swap', data ? `${formatBytes(data.memory.swapUsed)} of ${formatBytes(data.memory.swapTotal)}` : '—'],
    ['collectors', 'Collectors', collectors.length > 0 ? collectors.join(', ') : '—'],
  ];
  return <FactList items={items} />;
}

function Cores({ cores, count }: { cores: number[]; count: number }) {
  return (
    <section class="host-cores" aria-label="CPU per core">
      <h2>
        CPU per core{cores.length < count ? ` (first ${cores.length} of ${count})` : ''}
      </h2>
      <ul class="meters">
        {cores.map((p, i) => (
          <li key={i} class="meter" data-core={i} title={`core ${i}: ${formatPercent(p)}`}>
            <span class="meter-label">{i}</span>
            <span class="meter-bar" style={{ width: `${Math.min(100, p)}%` }} />
            <span class="meter-value">{formatPercent(p)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Mounts({ mounts }: { mounts: HostMetrics['mounts'] }) {
  return (
    <section class="host-mounts" aria-label="Mounts">
      <h2>Mounts</h2>
      <table class="mounts">
        <thead>
          <tr>
            <th scope="col">Mount</th>
            <th scope="col" class="num">Used</th>
            <th scope="col" class="num">Size</th>
            <th scope="col" class="num">Use</th>
          </tr>
        </thead>
        <tbody>
          {mounts.map((m) => (
            <tr key={m.path} data-mount={m.path}>
              <td>{m.path}</td>
              <td class="num">{formatBytes(m.used)}</td>
              <td class="num">{formatBytes(m.total)}</td>
              <td class="num" data-field="use">
                {formatPercent(m.total > 0 ? (m.used / m.total) * 100 : 0)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
