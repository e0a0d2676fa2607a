// The fleet summary (`subscribe-fleet`): a map of rows kept current from `fleet:update` messages.
// A snapshot (in parts) replaces the rows; a delta changes and removes some. Every (re)join, after
// a reconnect, a `resync-required`, or setFilter(), brings a new snapshot. While a subscribe is
// in flight, what arrives belongs to the filter being replaced or to the new snapshot: only the
// last complete snapshot before the ack is applied, at the ack.
import { ClientEvents, FleetFilter, compile, type FleetRow, type FleetUpdate, type Validator } from '@vigil/protocol';
import { TypedEmitter } from './emitter.js';
import type { VigilClientError } from './errors.js';
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
  /** A new filter: resolves once the gateway confirmed it and its snapshot replaced the rows. */
  setFilter(filter?: FleetFilter): Promise<void>;
  /** Ends the subscription (`unsubscribe-fleet`). */
  close(): Promise<void>;
}

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
  #inFlight: { snapshot: Map<string, FleetRow> | null; total: number } | null = null;
  /** When the last update arrived (an ack after a long snapshot is not a timeout). */
  #lastUpdateAt = 0;

  constructor(host: ChannelHost, filter: FleetFilter | undefined, options: FleetOptions) {
    super(host, 'fleet', options.onError);
    this.#filter = filter;
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

  async setFilter(filter: FleetFilter | undefined): Promise<void> {
    checkFleetFilter(filter);
    this.throwIfFailed();
    this.#filter = filter;
    await this.join();
    this.throwIfFailed();
  }

  protected async exchange(current: () => boolean): Promise<void> {
    const flight = { snapshot: null as Map<string, FleetRow> | null, total: 0 };
    this.#inFlight = flight;
    this.#parts = null;
    try {
      const filter = this.#filter;
      const ack = await this.host.request(ClientEvents.subscribeFleet, filter === undefined ? {} : { filter }, () => this.#lastUpdateAt);
      if (!current()) return;
      this.#total = ack.total;
      if (flight.snapshot) this.#replace(flight.snapshot, flight.total);
    } finally {
      if (this.#inFlight === flight) this.#inFlight = null;
    }
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
    super.end(reason);
    this.#parts = null;
    this.#inFlight = null;
  }
}
