// The fleet summary (`subscribe-fleet`): a map of rows kept current from `fleet:update` messages.
// A snapshot (in parts) replaces the rows; a delta changes and removes some. Every (re)join, after
// a reconnect, a `resync-required`, or setFilter(), brings a new snapshot. While a subscribe is
// in flight, what arrives belongs to the filter being replaced or to the new snapshot: the gateway
// sends the snapshot before its ack, so the last complete snapshot before the ack is applied, at
// the ack; an ack with none before it waits (bounded) for the next complete one. A subscribe or
// setFilter() resolves only once that snapshot replaced the rows, and rejects when it could not
// (offline, the connection dropped, refused, no snapshot in time): never with the old rows in place.
import { ClientEvents, FleetFilter, compile, type FleetRow, type FleetUpdate, type Validator } from '@vigil/protocol';
import { TypedEmitter } from './emitter.js';
import { ClientErrorCodes, VigilClientError, toClientError } from './errors.js';
import { Channel, invalidPayload, type ChannelHost } from './subscription.js';

/** What changed in one update: ids of rows added or changed, and ids no longer in the view. */
export type FleetChange = { snapshot: boolean; changed: string[]; removed: string[] };

export type FleetOptions = {
  /** The subscription ended after a permanent refusal on a re-join (e.g. the filter refused). */
  onError?(error: VigilClientError): void;
};

export interface FleetSubscription {
  /** The current view: complete after the first snapshot. */
  readonly rows: ReadonlyMap<string, FleetRow>;
  /** Servers matching the filter that the token may see. */
  readonly total: number;
  /** The first complete snapshot was received. */
  readonly ready: boolean;
  readonly filter: FleetFilter | undefined;
  on(event: 'update', fn: (change: FleetChange) => void): () => void;
  /**
   * A new filter: resolves once the gateway confirmed it and its snapshot replaced the rows; rejects
   * (offline, connection lost, refused, no snapshot in time) while the rows are still the old
   * filter's: the subscription then applies the new filter on its next (re)join by itself.
   */
  setFilter(filter?: FleetFilter): Promise<void>;
  /** Ends the subscription (`unsubscribe-fleet`). */
  close(): Promise<void>;
}

/** After an ack with no snapshot before it: how long the snapshot may take to come (or to make progress, part by part). */
export const FLEET_SNAPSHOT_WAIT_MS = 10_000;

/** One subscribe in flight: the last complete snapshot received meanwhile, and (after an ack without one) the wait for it. */
type Flight = {
  snapshot: Map<string, FleetRow> | null;
  total: number;
  waiting: { done(): void; fail(err: VigilClientError): void } | null;
};

/** A setFilter() call: settled by the first exchange that started after it. */
type FilterWaiter = { seq: number; resolve(): void; reject(err: VigilClientError): void };

let filterCheck: Validator<typeof FleetFilter> | undefined;

/** Throws INVALID_PAYLOAD for a filter the gateway would refuse. */
export function checkFleetFilter(filter: unknown): void {
  if (filter === undefined) return;
  filterCheck ??= compile(FleetFilter, { codegen: false });
  const problem = filterCheck.explain(filter);
  if (problem !== null) throw invalidPayload(`filter: ${problem}`);
}

export class FleetChannel extends Channel {
  readonly kind = 'fleet' as const;
  readonly view: FleetSubscription;
  #filter: FleetFilter | undefined;
  #rows = new Map<string, FleetRow>();
  #total = 0;
  #ready = false;
  readonly #events: TypedEmitter<{ update: FleetChange }>;
  /** Parts of a snapshot being received. */
  #parts: Map<string, FleetRow> | null = null;
  /** While a subscribe is in flight: the last complete snapshot received (applied at the ack). */
  #inFlight: Flight | null = null;
  /** When the last update arrived (an ack after a long snapshot is not a timeout). */
  #lastUpdateAt = 0;
  /** setFilter() calls not settled yet, and the sequence they are numbered by. */
  #waiters: FilterWaiter[] = [];
  #filterSeq = 0;
  readonly #snapshotWaitMs: number;

  constructor(host: ChannelHost, filter: FleetFilter | undefined, options: FleetOptions, snapshotWaitMs = FLEET_SNAPSHOT_WAIT_MS) {
    super(host, 'fleet', options.onError);
    this.#filter = filter;
    this.#snapshotWaitMs = snapshotWaitMs;
    this.#events = new TypedEmitter((err) => this.handlerFailed(err));
    const self = this;
    this.view = Object.freeze({
      get rows() {
        return self.#rows as ReadonlyMap<string, FleetRow>;
      },
      get total() {
        return self.#total;
      },
      get ready() {
        return self.#ready;
      },
      get filter() {
        return self.#filter;
      },
      on: (event: 'update', fn: (change: FleetChange) => void) => self.#events.on(event, fn),
      setFilter: (filter?: FleetFilter) => self.setFilter(filter),
      close: () => self.unsubscribe(),
    });
  }

  /**
   * Resolves once a snapshot under this filter (or a newer one set meanwhile) replaced the rows;
   * rejects (DISCONNECTED, TIMEOUT, the gateway's code) when it did not: the rows are then still the
   * old filter's, and the channel applies the new filter by itself on its next join.
   */
  async setFilter(filter: FleetFilter | undefined): Promise<void> {
    checkFleetFilter(filter);
    this.throwIfFailed();
    if (this.ended) return;
    this.#filter = filter;
    const applied = new Promise<void>((resolve, reject) => this.#waiters.push({ seq: ++this.#filterSeq, resolve, reject }));
    if (!this.host.connected) this.#settle(this.#filterSeq, new VigilClientError(ClientErrorCodes.DISCONNECTED, 'not connected: the filter applies once the client is connected again'));
    else void this.join();
    await applied;
  }

  protected async exchange(current: () => boolean): Promise<void> {
    const flight: Flight = { snapshot: null, total: 0, waiting: null };
    // A newer subscribe supersedes the one in flight: its wait ends now.
    this.#inFlight?.waiting?.fail(new VigilClientError(ClientErrorCodes.CANCELLED, 'superseded by a newer subscribe-fleet'));
    this.#inFlight = flight;
    this.#parts = null;
    const upTo = this.#filterSeq;
    try {
      const filter = this.#filter;
      await this.host.request(ClientEvents.subscribeFleet, filter === undefined ? {} : { filter }, () => this.#lastUpdateAt);
      if (!current()) return;
      // The gateway sends the snapshot before its ack; if none came, the next complete one is this subscribe's.
      if (!flight.snapshot) await this.#awaitSnapshot(flight);
      if (!current()) return;
      this.#replace(flight.snapshot!, flight.total);
      this.#settle(upTo, null);
    } catch (err) {
      if (current()) this.#settle(upTo, toClientError(err));
      throw err;
    } finally {
      if (this.#inFlight === flight) this.#inFlight = null;
    }
  }

  /** Waits for the snapshot after the ack: until it is complete, the connection drops, or nothing arrived for a while. */
  #awaitSnapshot(flight: Flight): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const since = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        flight.waiting = null;
        outcome();
      };
      flight.waiting = { done: () => settle(resolve), fail: (err) => settle(() => reject(err)) };
      const check = () => {
        const idle = Date.now() - Math.max(since, this.#lastUpdateAt);
        if (idle < this.#snapshotWaitMs) timer = setTimeout(check, this.#snapshotWaitMs - idle);
        else flight.waiting?.fail(new VigilClientError(ClientErrorCodes.TIMEOUT, `subscribe-fleet: no snapshot within ${this.#snapshotWaitMs} ms of the ack`));
      };
      timer = setTimeout(check, this.#snapshotWaitMs);
    });
  }

  /** setFilter() calls numbered up to `upTo`: resolved (error null) or rejected. */
  #settle(upTo: number, error: VigilClientError | null): void {
    const due = this.#waiters.filter((w) => w.seq <= upTo);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.seq > upTo);
    for (const w of due) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** The connection dropped: a wait for a snapshot after its ack ends (the reconnect subscribes again). */
  disconnected(reason: VigilClientError): void {
    this.#inFlight?.waiting?.fail(reason);
  }

  receive(update: FleetUpdate): void {
    if (this.ended) return;
    this.#lastUpdateAt = Date.now();
    if (update.snapshot) {
      const parts = (this.#parts ??= new Map());
      for (const row of update.rows) parts.set(row.id, row);
      if (!update.complete) return;
      this.#parts = null;
      if (this.#inFlight) {
        this.#inFlight.snapshot = parts;
        this.#inFlight.total = update.total;
        this.#inFlight.waiting?.done();
      } else {
        this.#replace(parts, update.total);
      }
      return;
    }
    // A delta for the filter being replaced: the coming snapshot supersedes it.
    if (this.#inFlight || !this.#ready) return;
    const changed: string[] = [];
    for (const row of update.rows) {
      this.#rows.set(row.id, row);
      changed.push(row.id);
    }
    const removed: string[] = [];
    for (const id of update.removed) if (this.#rows.delete(id)) removed.push(id);
    this.#total = update.total;
    if (changed.length > 0 || removed.length > 0) this.#events.emit('update', { snapshot: false, changed, removed });
  }

  #replace(rows: Map<string, FleetRow>, total: number): void {
    const removed: string[] = [];
    for (const id of this.#rows.keys()) if (!rows.has(id)) removed.push(id);
    this.#rows = rows;
    this.#total = total;
    this.#ready = true;
    this.#events.emit('update', { snapshot: true, changed: [...rows.keys()], removed });
  }

  override end(reason: VigilClientError): void {
    if (this.ended) return;
    super.end(reason);
    this.#inFlight?.waiting?.fail(reason);
    this.#settle(Infinity, reason);
    this.#parts = null;
    this.#inFlight = null;
  }
}
