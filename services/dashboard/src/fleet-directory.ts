// The fleet as the servers list shows it: one fleet subscription (a snapshot, then batched deltas
// at most once a gateway second, however many servers), the rows in the order the user chose,
// narrowed by the filter the gateway applies, and each row's CPU trend taken from the updates.
// The order is sorted again only when a row came, went or changed in the sorted column. The list
// opens the subscription while it is on screen and closes it when the user goes elsewhere; the
// filter, the sort and the trends stay for the way back.
import { isForbidden } from './access.js';
import type { FleetChange, FleetFilter, FleetRow, FleetSource, FleetSubscription } from './fleet-types.js';
import { fleetMatcher } from '@vigil/protocol';
import { compareRows, sameFilter, sortValue, type Sort } from './fleet-view.js';
import { SparkStore, type SparkPoint } from './fleet-sparks.js';
import { Observable } from './observable.js';

/** Wait before trying again when subscribing failed. */
const RETRY_MS = 5_000;

export class FleetDirectory extends Observable {
  readonly #client: FleetSource;
  readonly #sparks = new SparkStore();
  #subscription: FleetSubscription | null = null;
  #offUpdate: (() => void) | null = null;
  #filter: FleetFilter = {};
  /** Set while the gateway has not yet answered the current filter: the page narrows the old rows itself. */
  #pending: ((row: FleetRow) => boolean) | null = null;
  #filterSeq = 0;
  /** Snapshots applied so far; and the filter whose snapshot is still awaited (its setFilter() failed: the client applies it on its next join). */
  #snapshots = 0;
  #awaiting = 0;
  #sort: Sort = { key: 'id', dir: 'asc' };
  /** Ids in display order, with the value each was sorted by; null when a new sort is due. */
  #order: string[] | null = null;
  readonly #sortedBy = new Map<string, string | number>();
  #shown: FleetRow[] | null = null;
  #error: string | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by start() and stop(): an open that finishes after them is let go. */
  #generation = 0;
  #running = false;

  constructor(client: FleetSource) {
    super();
    this.#client = client;
  }

  /** Rows in display order (the same array until something changes). */
  get rows(): readonly FleetRow[] {
    if (this.#shown) return this.#shown;
    const sub = this.#subscription;
    if (!sub) return (this.#shown = []);
    const order = this.#order ?? this.#sortNow(sub);
    const shown: FleetRow[] = [];
    const keep = this.#pending;
    for (const id of order) {
      const row = sub.rows.get(id);
      if (row && (keep === null || keep(row))) shown.push(row);
    }
    return (this.#shown = shown);
  }

  /** Servers that match the filter (the gateway's count; the page's own while a new filter is on its way). */
  get total(): number {
    if (this.#pending || !this.#subscription) return this.rows.length;
    return this.#subscription.total;
  }

  get loaded(): boolean {
    return this.#subscription?.ready ?? false;
  }

  get error(): string | null {
    return this.#error;
  }

  get filter(): FleetFilter {
    return this.#filter;
  }

  get sort(): Sort {
    return this.#sort;
  }

  sparkOf(id: string): SparkPoint[] {
    return this.#sparks.pointsOf(id);
  }

  /** Changes whenever the row's trend gains a point. */
  sparkStamp(id: string): string {
    return this.#sparks.stampOf(id);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#open(++this.#generation);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#generation++;
    clearTimeout(this.#retry);
    this.#offUpdate?.();
    this.#offUpdate = null;
    void this.#subscription?.close().catch(() => {});
    this.#subscription = null;
    this.#pending = null;
    this.#order = null;
    this.#shown = null;
  }

  setSort(sort: Sort): void {
    if (sort.key === this.#sort.key && sort.dir === this.#sort.dir) return;
    this.#sort = sort;
    this.#order = null;
    this.#shown = null;
    this.changed();
  }

  /** Narrows the rows on screen at once, and asks the gateway for the rows of the new filter. */
  setFilter(filter: FleetFilter): void {
    if (sameFilter(filter, this.#filter)) return;
    this.#filter = filter;
    const seq = ++this.#filterSeq;
    this.#pending = fleetMatcher(filter);
    this.#shown = null;
    this.changed();
    const sub = this.#subscription;
    if (!sub) return; // #open subscribes with the newest filter
    const snapshotsBefore = this.#snapshots;
    sub.setFilter(filter).then(
      () => {
        if (seq !== this.#filterSeq || this.#subscription !== sub) return;
        this.#error = null;
        // setFilter() resolves once the new snapshot replaced the rows; had none come, keep narrowing.
        if (this.#snapshots === snapshotsBefore) {
          this.#awaiting = seq;
          this.changed();
          return;
        }
        this.#pending = null;
        this.#reordered();
      },
      (err: Error) => {
        if (seq !== this.#filterSeq || this.#subscription !== sub) return;
        this.#error = `Could not apply the filter: ${err.message}`;
        // Offline or refused for now: the client subscribes with this filter on its next join
        // (reconnect, retry), and that snapshot ends the page's own narrowing and this message.
        this.#awaiting = seq;
        this.changed();
      },
    );
  }

  async #open(generation: number): Promise<void> {
    const filter = this.#filter;
    const seq = this.#filterSeq;
    let sub: FleetSubscription;
    try {
      sub = await this.#client.subscribeFleet(filter);
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#error = isForbidden(err) ? 'Your sign-in does not allow listing servers.' : `Could not read the server list: ${(err as Error).message}`;
      this.changed();
      this.#retry = setTimeout(() => void this.#open(generation), RETRY_MS);
      return;
    }
    if (generation !== this.#generation) {
      void sub.close().catch(() => {});
      return;
    }
    this.#error = null;
    this.#subscription = sub;
    this.#offUpdate = sub.on('update', (change) => this.#update(sub, change));
    for (const row of sub.rows.values()) this.#sparks.record(row);
    if (seq === this.#filterSeq) this.#pending = null;
    else {
      // The filter changed while subscribing: ask for the newest one.
      const newest = this.#filter;
      this.#filter = filter;
      this.setFilter(newest);
    }
    this.#reordered();
  }

  #update(sub: FleetSubscription, change: FleetChange): void {
    if (sub !== this.#subscription) return;
    if (change.snapshot) {
      this.#snapshots++;
      if (this.#awaiting !== 0 && this.#awaiting === this.#filterSeq) {
        this.#pending = null;
        this.#error = null;
      }
      this.#awaiting = 0;
    }
    for (const id of change.removed) {
      this.#sparks.forget(id);
      this.#sortedBy.delete(id);
    }
    let resort = change.removed.length > 0 || change.snapshot;
    for (const id of change.changed) {
      const row = sub.rows.get(id);
      if (!row) continue;
      this.#sparks.record(row);
      if (!resort && this.#sortedBy.get(id) !== sortValue(row, this.#sort.key)) resort = true;
    }
    if (resort) this.#order = null;
    this.#shown = null;
    this.changed();
  }

  #reordered(): void {
    this.#order = null;
    this.#shown = null;
    this.changed();
  }

  #sortNow(sub: FleetSubscription): string[] {
    const sort = this.#sort;
    const rows = [...sub.rows.values()].sort((a, b) => compareRows(a, b, sort));
    this.#sortedBy.clear();
    const order = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      order[i] = row.id;
      this.#sortedBy.set(row.id, sortValue(row, sort.key));
    }
    return (this.#order = order);
  }
}
