// The alerts view: what fires now (most severe first) and the latest changes.
import { formatDateTime } from './format.js';
import { useTitle } from './hooks.js';
import { useObservable } from './observable.js';
import type { AlertFeed } from './alert-feed.js';
import { serverHref } from './router.js';
import type { AlertEvent } from '@vigil/client';

export function AlertsPage({ feed }: { feed: AlertFeed }) {
  useObservable(feed);
  useTitle('Alerts · vigil');
  const firing = feed.firing;
  return (
    <section class="alerts-page" aria-labelledby="alerts-title">
      <div class="page-head">
        <h1 id="alerts-title">Alerts</h1>
        <p class="muted" aria-live="polite">
          {firing.length === 0 ? 'Nothing is firing.' : `${firing.length} firing`}
        </p>
      </div>
      {feed.error && (
        <p class="alert" role="alert">
          {feed.error}
        </p>
      )}
      <ul class="alert-list" data-testid="alerts-firing">
        {firing.map((a) => (
          <AlertItem key={a.id} alert={a} />
        ))}
      </ul>
      <h2>Latest changes</h2>
      <ul class="alert-list recent" data-testid="alerts-recent">
        {feed.recent.map((a) => (
          <AlertItem key={a.position} alert={a} />
        ))}
      </ul>
    </section>
  );
}

function AlertItem({ alert }: { alert: AlertEvent }) {
  return (
    <li class={`alert-item severity-${alert.severity} state-${alert.state}`} data-alert-id={alert.id} data-state={alert.state}>
      <span class="alert-severity">{alert.severity}</span>
      <a class="alert-server" href={serverHref(alert.serverId)}>
        {alert.serverId}
      </a>
      <span class="alert-message">{alert.message}</span>
      <span class="alert-time muted">
        {alert.state === 'firing' ? `since ${formatDateTime(alert.since)}` : `resolved ${formatDateTime(alert.timestamp)}`}
      </span>
    </li>
  );
}
