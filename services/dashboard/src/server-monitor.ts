// One server, watched: its registry facts (REST, refreshed on status changes and every POLL_MS),
// its status and samples live, and a bounded series for the charts, filled from history on open.
import type { MetricsSubscription, ProcessInfoEvent, ServerRemoved, VigilClient } from '@vigil/client';
import { isForbidden } from './access.js';
import type { RestApi, ServerView } from './api.js';
import { Observable } from './observable.js';
import { SampleSeries } from './sample-series.js';

/** The registry facts are read again this often. */
export const POLL_MS = 10_000;
/** Points kept per chart: 20 minutes at one sample a second. */
export const CHART_POINTS = 1200;
/** Samples read from history when the page opens. */
export const HISTORY_POINTS = 300;

export class ServerMonitor extends Observable {
  readonly serverId: string;
  readonly series = new SampleSeries(CHART_POINTS);
  readonly #client: VigilClient;
  readonly #api: RestApi;
  #facts: ServerView | null = null;
  #found: boolean | null = null;
  #status: string | null = null;
  /** Browser time of the last live status change, to tell it from an older registry read. */
  #statusAt = 0;
  #statusReason: string | null = null;
  #latest: ProcessInfoEvent | null = null;
  /** Browser time the latest sample arrived, to let uptime tick between samples. */
  #latestAt = 0;
  #error: string | null = null;
  /** The sign-in does not allow this server: the page says so instead of showing errors. */
  #forbidden = false;
  #subscription: Promise<MetricsSubscription | null> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #offState: (() => void) | null = null;
  #offRemoved: (() => void) | null = null;
  #removed: ServerRemoved | null = null;
  /** The interval asked for (undefined: the server's configured one), and the one confirmed. */
  #asked: number | undefined;
  #interval: number | null = null;

  constructor(client: VigilClient, api: RestApi, serverId: string) {
    super();
    this.#client = client;
    this.#api = api;
    this.serverId = serverId;
  }

  get facts(): ServerView | null {
    return this.#facts;
  }
  /** null until the registry was read. */
  get found(): boolean | null {
    return this.#found;
  }
  get status(): string | null {
    return this.#status ?? this.#facts?.status ?? null;
  }
  get statusReason(): string | null {
    return this.#statusReason;
  }
  /** The server was removed (an admin's delete, or the retention) since the page opened; null again once it registers anew. */
  get removed(): ServerRemoved | null {
    return this.#removed;
  }
  get latest(): ProcessInfoEvent | null {
    return this.#latest;
  }
  get error(): string | null {
    return this.#forbidden ? null : this.#error;
  }
  get forbidden(): boolean {
    return this.#forbidden;
  }
  get asked(): number | undefined {
    return this.#asked;
  }
  /** The interval samples come at, as the gateway confirmed it; null before that. */
  get interval(): number | null {
    return this.#interval;
  }

  /** Asks for samples every `interval` ms (undefined: the configured interval); the page follows the confirmation. */
  async setInterval(interval: number | undefined): Promise<void> {
    this.#asked = interval;
    this.changed();
    try {
      await (await this.#subscription)?.setInterval(interval);
    } catch (err) {
      this.#fail('Could not change the sampling interval', err);
    }
  }

  /** Seconds the process has been up, ticking between samples; null when it is not running. */
  uptimeAt(now: number): number | null {
    const status = this.status;
    if (status === 'exited' || status === 'stopped' || !this.#latest) return null;
    return this.#latest.processInfo.uptime + Math.max(0, now - this.#latestAt) / 1000;
  }

  start(): void {
    this.#subscription = this.#client
      .subscribeMetrics(this.serverId, {
        onSample: (event) => this.#sample(event),
        onStatus: (event) => {
          this.#status = event.status;
          this.#statusAt = Date.now();
          this.#statusReason = event.reason ?? null;
          this.changed();
          this.#refreshSoon(500);
        },
        onError: (err) => this.#fail('Live metrics stopped', err),
        onInterval: (ms) => {
          this.#interval = ms;
          this.changed();
        },
      })
      .catch((err: Error) => {
        this.#fail('Live metrics stopped', err);
        return null;
      });
    this.#offState = this.#client.on('state', (state) => {
      if (state.name === 'connected') this.#refreshSoon(0);
    });
    this.#offRemoved = this.#client.on('server-removed', (event) => {
      if (event.serverId !== this.serverId) return;
      this.#removed = event;
      this.#found = false;
      this.#facts = null;
      this.#status = null;
      this.#statusReason = null;
      this.changed();
    });
    void this.#refresh();
    void this.#loadHistory();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#offState?.();
    this.#offRemoved?.();
    void this.#subscription?.then((s) => s?.unsubscribe());
  }

  #sample(event: ProcessInfoEvent): void {
    this.series.add(event);
    if (this.series.last?.position === event.position) {
      this.#latest = event;
      this.#latestAt = Date.now();
    }
    this.changed();
  }

  async #loadHistory(): Promise<void> {
    try {
      const page = await this.#api.metrics(this.serverId, { limit: HISTORY_POINTS });
      if (this.#stopped) return;
      this.series.addAll(page.items);
      const newest = page.items[page.items.length - 1];
      if (newest && !this.#latest) {
        this.#latest = newest;
        this.#latestAt = Date.now();
      }
      this.changed();
    } catch (err) {
      this.#fail('Could not read the metrics history', err);
    }
  }

  async #refresh(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      if (this.#found === null || this.#client.state.name === 'connected') {
        const askedAt = Date.now();
        const facts = await this.#api.server(this.serverId);
        if (this.#stopped) return;
        this.#found = facts !== null;
        this.#facts = facts;
        if (facts) this.#removed = null;
        // A live status change newer than this read wins over what the read saw.
        if (facts && this.#statusAt <= askedAt) this.#status = facts.status;
        this.#error = null;
        this.changed();
      }
    } catch (err) {
      this.#fail('Could not read the server', err);
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#refresh(), POLL_MS);
  }

  #refreshSoon(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh(), delay);
  }

  #fail(what: string, err: unknown): void {
    this.#error = `${what}: ${(err as Error).message}`;
    this.#forbidden ||= isForbidden(err);
    this.changed();
  }
}
