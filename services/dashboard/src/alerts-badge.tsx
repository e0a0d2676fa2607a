// The number of alerts firing now, in the header, coloured by the most severe; a link to the list.
import { useObservable } from './observable.js';
import type { AlertFeed } from './alert-feed.js';
import { alertsHref } from './router.js';

export function AlertsBadge({ feed }: { feed: AlertFeed }) {
  useObservable(feed);
  const firing = feed.firing;
  const worst = firing[0]?.severity ?? 'none';
  const label = firing.length === 1 ? '1 alert firing' : `${firing.length} alerts firing`;
  return (
    <a class={`alerts-badge severity-${worst}`} href={alertsHref} data-testid="alerts-badge" data-count={firing.length} aria-label={label} title={label}>
      <span class="alerts-badge-icon" aria-hidden="true">!</span>
      <span class="alerts-badge-count">{firing.length}</span>
    </a>
  );
}

/** A red dot beside a server that has an alert firing. */
export function AlertDot({ alerts }: { alerts: readonly { severity: string; message: string }[] }) {
  if (alerts.length === 0) return null;
  const worst = alerts.some((a) => a.severity === 'critical') ? 'critical' : alerts.some((a) => a.severity === 'warning') ? 'warning' : 'info';
  return <span class={`alert-dot severity-${worst}`} data-testid="alert-dot" title={alerts.map((a) => a.message).join('\n')} aria-label={`${alerts.length} alert(s) firing`} />;
}
