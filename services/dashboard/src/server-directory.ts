// Every registered server, kept current: the registry from REST (on open, every POLL_MS, after a
// reconnect and shortly after a status change), and each server's samples and status changes live
// through its metrics subscription. Each row keeps a short run of samples for its sparkline.
import type { MetricsSubscription, ProcessInfoEvent, StatusChangeEvent, VigilClient } from '@vigil/client';
import { isForbidden } from './access.js';
import type { RestApi, ServerView } from './api.js';
import { Observable } from './observable.js';
import { SampleSeries } from './sample-series.js';

export const POLL_MS = 10_000;
/** Samples kept per row for its sparkline. */
export const SPARK_POINTS = 60;
const REFRESH_AFTER_STATUS_MS = 500;

export type ServerRow = {
  id: string;
  host: string;
  command: string | null;
  pid: number | null;
  status: string;
  restarts: number;
  startedAt: string | null;
  cpu: number | null;
  rss: number | null;
  spark: SampleSeries;
  /** Browser time of the last live status change, to tell it from an older registry read. */
  statusAt: number;
  error: string | null;
};

export class ServerDirectory extends Observable {
  readonly #client: VigilClient;
  readonly #api: RestApi;
  readonly #rows = new Map<string, ServerRow>();
  readonly #subscriptions = new Map<string, Promise<MetricsSubscription | null>>();
  #loaded = false;
  #error: string | null = null;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | null = null;
  #stopped = false;
  #offState: (() => void) | null = null;
  #offRemoved: (() => void) | null = null;

  constructor(client: VigilClient, api: RestApi) {
    super();
    this.#client = client;
    this.#api = api;
  }

  get rows(): ServerRow[] {
    return [...this.#rows.values()];
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** The last failure to read the registry, cleared by the next success. */
  get error(): string | null {
    return this.#error;
  }

  start(): void {
    this.#offState = this.#client.on('state', (state) => {
      // Servers may have come and gone while we were away.
      if (state.name === 'connected') this.#refreshSoon(0);
    });
    // A removed server leaves the list at once (it comes back if its collector registers it again).
    this.#offRemoved = this.#client.on('server-removed', ({ serverId }) => {
      if (!this.#rows.delete(serverId)) return;
      this.#unsubscribe(serverId);
      this.changed();
    });
    void this.refresh();
  }

  stop(): void {
    this.#stopped = true;
    this.#offState?.();
    this.#offRemoved?.();
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#refreshTimer);
    for (const id of [...this.#subscriptions.keys()]) this.#unsubscribe(id);
  }

  /** Reads the registry now (one read at a time), then again after POLL_MS. */
  refresh(): Promise<void> {
    if (this.#polling) return this.#polling;
    clearTimeout(this.#pollTimer);
    this.#polling = this.#poll().finally(() => {
      this.#polling = null;
      if (!this.#stopped) this.#pollTimer = setTimeout(() => void this.refresh(), POLL_MS);
    });
    return this.#polling;
  }

  async #poll(): Promise<void> {
    // While the socket is down the gateway is likely down too: wait for the reconnect's refresh.
    if (this.#loaded && this.#client.state.name !== 'connected') return;
    const askedAt = Date.now();
    let servers: ServerView[];
    try {
      servers = await this.#api.servers();
    } catch (err) {
      this.#error = isForbidden(err) ? 'Your sign-in does not allow listing servers.' : `Could not read the server list: ${(err as Error).message}`;
      this.changed();
      return;
    }
    if (this.#stopped) return;
    this.#error = null;
    this.#loaded = true;
    const seen = new Set<string>();
    for (const view of servers) {
      seen.add(view.serverId);
      this.#merge(view, askedAt);
    }
    for (const id of [...this.#rows.keys()]) {
      if (!seen.has(id)) {
        this.#rows.delete(id);
        this.#unsubscribe(id);
      }
    }
    this.changed();
  }

  #merge(view: ServerView, askedAt: number): void {
    let row = this.#rows.get(view.serverId);
    if (!row) {
      row = {
        id: view.serverId,
        host: view.host,
        command: view.command,
        pid: view.pid,
        status: view.status,
        restarts: view.restarts,
        startedAt: view.startedAt,
        cpu: null,
        rss: null,
        spark: new SampleSeries(SPARK_POINTS),
        statusAt: 0,
        error: null,
      };
      this.#rows.set(view.serverId, row);
      this.#subscribe(row);
      void this.#fillSpark(row);
    }
    row.host = view.host;
    row.command = view.command;
    row.restarts = view.restarts;
    row.startedAt = view.startedAt;
    // A live status change newer than this read wins over what the read saw.
    if (row.statusAt <= askedAt) {
      row.status = view.status;
      row.pid = view.pid ?? row.pid;
    }
    if (view.latest) this.#sample(row, view.latest);
  }

  #subscribe(row: ServerRow): void {
    const subscription = this.#client
      .subscribeMetrics(row.id, {
        onSample: (event) => {
          this.#sample(row, event);
          this.changed();
        },
        onStatus: (event) => this.#status(row, event),
        onError: (err) => this.#rowFailed(row, err),
      })
      .catch((err: Error) => {
        this.#rowFailed(row, err);
        return null;
      });
    this.#subscriptions.set(row.id, subscription);
  }

  #rowFailed(row: ServerRow, err: Error): void {
    row.error = isForbidden(err) ? 'Not allowed for your sign-in' : err.message;
    this.changed();
  }

  #unsubscribe(id: string): void {
    const subscription = this.#subscriptions.get(id);
    this.#subscriptions.delete(id);
    void subscription?.then((s) => s?.unsubscribe());
  }

  async #fillSpark(row: ServerRow): Promise<void> {
    try {
      const page = await this.#api.metrics(row.id, { limit: SPARK_POINTS });
      row.spark.addAll(page.items);
      this.changed();
    } catch {
      // The sparkline fills from live samples alone.
    }
  }

  #sample(row: ServerRow, event: ProcessInfoEvent): void {
    row.spark.add(event);
    // An older sample (history, a repeated latest) goes to the sparkline only.
    if (row.spark.last?.position !== event.position) return;
    row.cpu = event.processInfo.cpu;
    row.rss = event.processInfo.memory.rss;
    row.pid = event.processInfo.pid;
  }

  #status(row: ServerRow, event: StatusChangeEvent): void {
    row.status = event.status;
    row.statusAt = Date.now();
    if (typeof event.pid === 'number') row.pid = event.pid;
    this.changed();
    // Restart counts, pid and start time live in the registry entry.
    this.#refreshSoon(REFRESH_AFTER_STATUS_MS);
  }

  #refreshSoon(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.refresh(), delay);
  }
}
