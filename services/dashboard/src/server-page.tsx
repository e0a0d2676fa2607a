// One server: its facts, live CPU and memory charts (history on open, then live), and its log tail.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { VigilClient } from '@vigil/client';
import type { RestApi } from './api.js';
import { formatBytes, formatDateTime, formatDuration, formatInterval, formatPercent } from './format.js';
import { IntervalChoice } from './interval-choice.js';
import { useNow, useTitle } from './hooks.js';
import { LogTail } from './log-tail.js';
import { LogTailView } from './log-tail-view.js';
import { useObservable } from './observable.js';
import { serversHref } from './router.js';
import { ServerMonitor } from './server-monitor.js';
import { FactList, type Fact } from './fact-list.js';
import { HostLink } from './host-link.js';
import { StatusPill } from './status-pill.js';
import { TimeChart } from './time-chart.js';
import type { AlertFeed } from './alert-feed.js';
import { AlertDot } from './alerts-badge.js';

type Props = { client: VigilClient; api: RestApi; serverId: string; feed: AlertFeed };

export function ServerPage({ client, api, serverId, feed }: Props) {
  const monitor = useMemo(() => new ServerMonitor(client, api, serverId), [client, api, serverId]);
  const tail = useMemo(() => new LogTail(client, api, serverId), [client, api, serverId]);
  useEffect(() => {
    monitor.start();
    void tail.start();
    return () => {
      monitor.stop();
      tail.stop();
    };
  }, [monitor, tail]);
  useObservable(monitor);
  useObservable(feed);
  const alerts = feed.firingFor(serverId);
  useTitle(`${serverId} · vigil`);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [serverId]);

  const facts = monitor.facts;
  const series = monitor.series;
  const version = `${series.length}:${series.last?.position ?? ''}`;
  const span = series.length > 1 ? formatDuration(series.last!.time - series.points[0]!.time) : null;
  const live = monitor.status !== 'exited';

  return (
    <section class="server" aria-labelledby="server-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={serversHref}>← All servers</a>
      </nav>
      <div class="page-head">
        <h1 id="server-title" tabIndex={-1} ref={heading}>
          {serverId}
        </h1>
        <StatusPill status={monitor.status} />
        <AlertDot alerts={alerts} />
      </div>
      {monitor.forbidden && (
        <p class="notice not-allowed" role="status" data-testid="not-allowed">
          Your sign-in does not allow you to see “{serverId}”. Ask for a token that covers this server.
        </p>
      )}
      {monitor.statusReason && <p class="muted status-reason">{monitor.statusReason}</p>}
      {monitor.removed && (
        <p class="alert" role="alert" data-testid="server-removed">
          “{serverId}” was removed {monitor.removed.reason === 'deleted' ? 'by an administrator' : 'after it had been gone for the retention period'} at{' '}
          {new Date(monitor.removed.timestamp).toLocaleString()}, with its history. It comes back here if its collector reports it again.
        </p>
      )}
      {monitor.found === false && !monitor.removed && (
        <p class="alert" role="alert">
          No server “{serverId}” is registered (yet). This page shows it as soon as a collector reports it.
        </p>
      )}
      {monitor.error && (
        <p class="alert" role="alert">
          {monitor.error}
        </p>
      )}
      {!monitor.forbidden && (
        <>
          <Facts monitor={monitor} />
          {alerts.length > 0 && (
            <ul class="alert-band" data-testid="alert-band" role="status">
              {alerts.map((a) => (
                <li key={a.id} class={`severity-${a.severity}`}>
                  {a.message}
                </li>
              ))}
            </ul>
          )}
          <IntervalChoice monitor={monitor} />
          <div class={alerts.length > 0 ? 'charts alerting' : 'charts'} data-alerting={alerts.length > 0 ? 'true' : undefined}>
            <TimeChart
              title="CPU"
              series={series}
              field="cpu"
              format={(v) => formatPercent(v)}
              color="#5eb1ff"
              minTop={5}
              version={version}
              summary={series.last && live ? `now ${formatPercent(series.last.cpu)}${span ? `, over the last ${span}` : ''}` : 'no live samples'}
            />
            <TimeChart
              title="Memory (RSS)"
              series={series}
              field="rss"
              format={(v) => formatBytes(v)}
              color="#b48cff"
              minTop={1024 * 1024}
              version={version}
              summary={series.last && live ? `now ${formatBytes(series.last.rss)}${span ? `, over the last ${span}` : ''}` : 'no live samples'}
            />
          </div>
          {facts?.command && <p class="command-line" title="Command">{facts.command}</p>}
          <LogTailView tail={tail} />
        </>
      )}
    </section>
  );
}

function Facts({ monitor }: { monitor: ServerMonitor }) {
  const now = useNow(1000);
  const facts = monitor.facts;
  const latest = monitor.latest;
  const pid = latest?.processInfo.pid ?? facts?.pid ?? null;
  const items: Fact[] = [
    ['pid', 'PID', pid === null ? '—' : String(pid)],
    ['uptime', 'Uptime', formatDuration(monitor.uptimeAt(now))],
    ['started', 'Started', formatDateTime(facts?.startedAt)],
    ['host', 'Host', facts ? <HostLink host={facts.host} /> : '—'],
    ['restarts', 'Restarts', facts ? String(facts.restarts) : '—'],
    ['interval', 'Sampled every', sampledEvery(monitor)],
  ];
  return <FactList items={items} />;
}

/** What the gateway confirmed for this page's subscription, else what the registry says. */
function sampledEvery(monitor: ServerMonitor): string {
  const ms = monitor.interval ?? monitor.facts?.intervalMs;
  return ms === undefined ? '—' : formatInterval(ms);
}
