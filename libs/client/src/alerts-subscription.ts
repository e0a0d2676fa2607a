// A subscription to alerts (every server the token sees, or one server) at a severity and above.
// Each (re)join brings what fires now: that snapshot replaces the set of firing alerts the
// subscription keeps (an alert resolved while the client was away drops out), and an event at or
// before the last position delivered for its alert id is not delivered again.
import { ClientEvents, comparePositions, meetsSeverity, type AlertEvent, type AlertSeverity } from '@vigil/protocol';
import { callSafely } from './emitter.js';
import type { VigilClientError } from './errors.js';
import { Channel, type AlertsSubscription, type ChannelHost } from './subscription.js';

export type AlertsOptions = {
  /** One server's alerts; default every server (needs a token that sees every server). */
  serverId?: string;
  /** At this severity and above; default `info` (all). */
  severity?: AlertSeverity;
  /** Each alert firing or resolving, once. */
  onAlert?(event: AlertEvent): void;
  /** The set of firing alerts changed (an event, or a re-join's snapshot). */
  onChange?(firing: readonly AlertEvent[]): void;
  onError?(error: VigilClientError): void;
};

/** Alert ids remembered for de-duplication; past this the oldest are forgotten. */
export const ALERT_IDS_REMEMBERED = 20_000;

export class AlertsChannel extends Channel {
  readonly kind = 'alerts' as const;
  readonly scope: string | null;
  readonly severity: AlertSeverity;
  readonly #options: AlertsOptions;
  readonly #seen = new Map<string, string>();
  readonly #firing = new Map<string, AlertEvent>();
  /** While a join is under way: the firing alerts it brought. */
  #snapshot: Map<string, AlertEvent> | null = null;
  #last: string | null = null;
  readonly view: AlertsSubscription;

  constructor(host: ChannelHost, options: AlertsOptions) {
    super(host, options.serverId ?? '*', options.onError);
    this.#options = options;
    this.scope = options.serverId ?? null;
    this.severity = options.severity ?? 'info';
    const self = this;
    this.view = Object.freeze({
      kind: 'alerts' as const,
      serverId: this.scope,
      severity: this.severity,
      get active() {
        return self.active;
      },
      get lastPosition() {
        return self.#last;
      },
      firing: () => [...self.#firing.values()],
      unsubscribe: () => self.unsubscribe(),
    });
  }

  protected async exchange(current: () => boolean): Promise<void> {
    const snapshot = new Map<string, AlertEvent>();
    this.#snapshot = snapshot;
    try {
      const ack = await this.host.request(ClientEvents.subscribeAlerts, {
        ...(this.scope === null ? {} : { serverId: this.scope }),
        severity: this.severity,
      });
      if (ack.warning) {
        this.host.logger.warn({ serverId: this.serverId, code: ack.warning.code }, ack.warning.message);
        return;
      }
      if (!current() || ack.covered) return;
      // What fires now is the snapshot (and what fired live during the join).
      let changed = false;
      for (const id of [...this.#firing.keys()]) {
        if (!snapshot.has(id)) changed = this.#firing.delete(id) || changed;
      }
      for (const [id, alert] of snapshot) {
        if (this.#firing.get(id)?.position !== alert.position) changed = true;
        this.#firing.set(id, alert);
      }
      if (changed) callSafely(this.#options.onChange, [...this.#firing.values()], this.handlerFailed);
    } finally {
      if (this.#snapshot === snapshot) this.#snapshot = null;
    }
  }

  /** Whether an alert event is for this subscription. */
  wants(event: AlertEvent): boolean {
    return (this.scope === null || event.serverId === this.scope) && meetsSeverity(event.severity, this.severity);
  }

  receive(event: AlertEvent): void {
    if (this.ended || !this.wants(event)) return;
    if (event.state === 'firing') this.#snapshot?.set(event.id, event);
    else this.#snapshot?.delete(event.id);
    const seen = this.#seen.get(event.id);
    if (seen !== undefined && comparePositions(event.position, seen) <= 0) return;
    this.#seen.delete(event.id);
    this.#seen.set(event.id, event.position);
    if (this.#seen.size > ALERT_IDS_REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
    if (this.#last === null || comparePositions(event.position, this.#last) > 0) this.#last = event.position;
    if (event.state === 'firing') this.#firing.set(event.id, event);
    else this.#firing.delete(event.id);
    callSafely(this.#options.onAlert, event, this.handlerFailed);
    callSafely(this.#options.onChange, [...this.#firing.values()], this.handlerFailed);
  }
}
