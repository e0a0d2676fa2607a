// One host, watched: its registry view (REST, on open), its samples live, and a bounded series for
// the charts, filled from history on open.
import type { SystemMetricsEvent, SystemMetricsSubscription, VigilClient } from '@vigil/client';
import { isForbidden } from './access.js';
import type { HostDetail, RestApi } from './api.js';
import { Observable } from './observable.js';
import { PointSeries, pointTime, type Point } from './sample-series.js';
import { CHART_POINTS, HISTORY_POINTS } from './server-monitor.js';

export type HostPoint = Point & { cpu: number; load1: number; memoryUsed: number; rx: number; tx: number };

function toPoint(event: SystemMetricsEvent): HostPoint {
  const d = event.data;
  return {
    position: event.position,
    time: pointTime(event.position),
    cpu: d.cpu.total,
    load1: d.load.one,
    memoryUsed: d.memory.used,
    rx: d.network.rxBytesPerSec,
    tx: d.network.txBytesPerSec,
  };
}

export class HostMonitor extends Observable {
  readonly host: string;
  readonly series = new PointSeries<SystemMetricsEvent, HostPoint>(CHART_POINTS, toPoint);
  readonly #client: VigilClient;
  readonly #api: RestApi;
  #detail: HostDetail | null = null;
  #found: boolean | null = null;
  #latest: SystemMetricsEvent | null = null;
  #error: string | null = null;
  #forbidden = false;
  #subscription: Promise<SystemMetricsSubscription | null> | null = null;
  #stopped = false;

  constructor(client: VigilClient, api: RestApi, host: string) {
    super();
    this.#client = client;
    this.#api = api;
    this.host = host;
  }

  get detail(): HostDetail | null {
    return this.#detail;
  }
  /** null until the registry was read. */
  get found(): boolean | null {
    return this.#found;
  }
  get latest(): SystemMetricsEvent | null {
    return this.#latest;
  }
  get error(): string | null {
    return this.#forbidden ? null : this.#error;
  }
  get forbidden(): boolean {
    return this.#forbidden;
  }

  start(): void {
    this.#subscription = this.#client
      .subscribeSystemMetrics(this.host, {
        onSample: (event) => this.#sample(event),
        onError: (err) => this.#fail('Live host metrics stopped', err),
      })
      .catch((err: Error) => {
        this.#fail('Live host metrics stopped', err);
        return null;
      });
    void this.#load();
  }

  stop(): void {
    this.#stopped = true;
    void this.#subscription?.then((s) => s?.unsubscribe());
  }

  #sample(event: SystemMetricsEvent): void {
    this.series.add(event);
    if (this.series.last?.position === event.position) this.#latest = event;
    this.changed();
  }

  async #load(): Promise<void> {
    try {
      const [detail, page] = await Promise.all([this.#api.host(this.host), this.#api.hostMetrics(this.host, { limit: HISTORY_POINTS }).catch(() => null)]);
      if (this.#stopped) return;
      this.#found = detail !== null;
      this.#detail = detail;
      if (page) this.series.addAll(page.items);
      const newest = detail?.sample ?? page?.items[page.items.length - 1] ?? null;
      if (newest) this.#sample(newest);
      this.changed();
    } catch (err) {
      this.#fail('Could not read the host', err);
    }
  }

  #fail(what: string, err: unknown): void {
    this.#error = `${what}: ${(err as Error).message}`;
    this.#forbidden ||= isForbidden(err);
    this.changed();
  }
}
