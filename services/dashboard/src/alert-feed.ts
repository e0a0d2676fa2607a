// The alerts the signed-in user may see, live: what fires now (refreshed by every re-join) and the
// latest changes. One subscription to every server's alerts; a token limited to some servers gets
// one subscription per server it can list instead.
import type { AlertEvent, AlertsSubscription, VigilClient } from '@vigil/client';
import { isForbidden } from './access.js';
import type { RestApi } from './api.js';
import { Observable } from './observable.js';

/** Changes kept for the alerts page. */
export const RECENT_MAX = 50;
/** Per-server subscriptions a limited token may take. */
const PER_SERVER_MAX = 100;
const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 } as const;

export class AlertFeed extends Observable {
  readonly #client: VigilClient;
  readonly #api: RestApi;
  readonly #subscriptions: Array<Promise<AlertsSubscription | null>> = [];
  readonly #firing = new Map<string, AlertEvent>();
  #recent: AlertEvent[] = [];
  #error: string | null = null;
  #stopped = false;

  constructor(client: VigilClient, api: RestApi) {
    super();
    this.#client = client;
    this.#api = api;
  }

  /** Firing now, most severe first, then newest. */
  get firing(): AlertEvent[] {
    return [...this.#firing.values()].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.since.localeCompare(a.since));
  }

  /** The latest changes, newest first. */
  get recent(): readonly AlertEvent[] {
    return this.#recent;
  }

  get error(): string | null {
    return this.#error;
  }

  firingFor(serverId: string): AlertEvent[] {
    return this.firing.filter((a) => a.serverId === serverId);
  }

  start(): void {
    void this.#subscribe(undefined).then(async (ok) => {
      if (ok !== 'forbidden' || this.#stopped) return;
      const servers = await this.#api.servers().catch(() => []);
      for (const s of servers.slice(0, PER_SERVER_MAX)) void this.#subscribe(s.serverId);
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#subscriptions) void s.then((sub) => sub?.unsubscribe());
  }

  async #subscribe(serverId: string | undefined): Promise<'ok' | 'forbidden' | 'failed'> {
    const scope = (a: AlertEvent) => serverId === undefined || a.serverId === serverId;
    const subscription = this.#client
      .subscribeAlerts({
        ...(serverId === undefined ? {} : { serverId }),
        onAlert: (event) => {
          this.#recent = [event, ...this.#recent].slice(0, RECENT_MAX);
        },
        onChange: (firing) => {
          for (const [id, a] of this.#firing) if (scope(a)) this.#firing.delete(id);
          for (const a of firing) this.#firing.set(a.id, a);
          this.changed();
        },
      })
      .then((s) => {
        if (this.#stopped) void s.unsubscribe();
        return s;
      });
    this.#subscriptions.push(subscription.catch(() => null));
    try {
      await subscription;
      return 'ok';
    } catch (err) {
      if (isForbidden(err)) return 'forbidden';
      this.#error = `Alerts are unavailable: ${(err as Error).message}`;
      this.changed();
      return 'failed';
    }
  }
}
