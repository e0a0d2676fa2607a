// One client's fleet subscription: its filter and token, the generation of the view it has been
// sent up to, and how many rows it sees. That is all it keeps: the rows themselves are the
// view's (fleet-view.ts), so a client costs the same few fields whatever the fleet's size. Each
// read of the view, a client that is one generation behind gets what changed filtered for it;
// one further behind (it was busy, or not reading) gets everything that changed since, found by
// generation; one whose token changed gets a new snapshot. Messages of more than a part's rows
// are sent one part at a time as the client reads them.
import {
  FLEET_SNAPSHOT_PART,
  ServerEvents,
  fleetMatcher,
  isEmptyFleetFilter,
  type FleetFilter,
  type FleetRow,
  type FleetUpdate,
  type Permissions,
} from '@vigil/protocol';
import type { Client } from './client.js';
import type { FleetView } from './fleet-view.js';
import { drained } from './slow-consumers.js';

/** A part is sent once the client has at most this many bytes unsent; a delta waits for a later read above it. */
export const FLEET_DRAIN_BELOW = 128 * 1024;

export class FleetSubscriber {
  readonly client: Client;
  #filter: FleetFilter | undefined;
  #visible: (row: FleetRow) => boolean = () => true;
  #permissions: Permissions;
  /** The view's generation this client has everything of; -1: no snapshot yet. */
  #sentGen = -1;
  #total = 0;
  /** Sending parts (a snapshot, or a large delta): reads skip this client until done. */
  #busy = false;
  /** A snapshot's first part went out and its last did not yet. */
  #snapshotOpen = false;
  /** Each subscribe (and stop) starts a new epoch: parts of an older one are not sent. */
  #epoch = 0;
  /** Clients with the same key see the same rows (a token that sees all, the same filter); null: this one's own. */
  #shareKey: string | null = null;

  constructor(client: Client) {
    this.client = client;
    this.#permissions = client.permissions;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes the filter and sends the snapshot; resolves with the total once the last part is out. */
  async subscribe(view: FleetView, filter: FleetFilter | undefined): Promise<number> {
    const epoch = ++this.#epoch;
    // Parts of an older epoch stop at their next turn: this one sends from now on.
    this.#busy = false;
    // An interrupted snapshot is closed first, so that its parts never mix with the new one's.
    if (this.#snapshotOpen) this.#emit({ snapshot: true, complete: true, rows: [], removed: [], total: this.#total, timestamp: view.readAt });
    this.#snapshotOpen = false;
    this.#filter = filter;
    this.#setPermissions(this.client.permissions);
    await this.#snapshot(view, epoch);
    return this.#total;
  }

  /** Stops sending (unsubscribe, or the client went). */
  stop(): void {
    this.#epoch++;
  }

  #setPermissions(permissions: Permissions): void {
    this.#permissions = permissions;
    this.#visible = visibility(this.#filter, permissions);
    this.#shareKey = permissions.seesAll ? JSON.stringify(this.#filter ?? {}) : null;
  }

  /**
   * After a read of the view: sends this client what changed for it, if anything. A delta that
   * clients sharing its key get alike (one generation on, one part) goes through `shared`, which
   * encodes it once for all of them.
   */
  update(view: FleetView, shared?: SharedDeltas): void {
    if (this.#busy || this.#sentGen < 0 || !this.client.connected) return;
    if (this.client.permissions !== this.#permissions) {
      // A refreshed token: what it sees may differ; a new snapshot replaces what the client holds.
      this.#setPermissions(this.client.permissions);
      void this.#snapshot(view, this.#epoch);
      return;
    }
    const gen = view.generation;
    if (this.#sentGen === gen) return;
    // Not reading: nothing is built for it now; it catches up by generation once it reads again.
    if (this.client.unsentBytes() > FLEET_DRAIN_BELOW) return;
    const oneOn = this.#sentGen === gen - 1;
    const totalBefore = this.#total;
    // One generation on, alike for every client of its key: computed once, by the first of them.
    const key = oneOn && shared && this.#shareKey !== null ? `${gen}|${totalBefore}|${this.#shareKey}` : null;
    const known = key === null ? undefined : shared!.delta(key);
    if (known) {
      this.#sentGen = gen;
      this.#total = known.total;
      if (known.part) shared!.add(known.part, this.client);
      return;
    }
    const delta = oneOn ? this.#next(view) : this.#since(view);
    if (!delta) {
      void this.#snapshot(view, this.#epoch);
      return;
    }
    this.#sentGen = gen;
    const empty = delta.rows.length === 0 && delta.removed.length === 0;
    const parts = empty ? [] : partsOf(delta.rows, delta.removed, false, this.#total, view.readAt);
    if (key !== null && parts.length <= 1) {
      const part = parts[0] ?? null;
      shared!.remember(key, { total: this.#total, part });
      if (part) shared!.add(part, this.client);
      return;
    }
    if (!empty) void this.#send(parts, this.#epoch);
  }

  /** One generation on: only the rows that changed in it, compared with what they were. */
  #next(view: FleetView): { rows: FleetRow[]; removed: string[] } {
    const rows: FleetRow[] = [];
    const removed: string[] = [];
    const visible = this.#visible;
    for (const id of view.changedNow()) {
      const s = view.server(id);
      if (!s) continue;
      const was = s.prev !== null && visible(s.prev);
      if (visible(s.row)) {
        rows.push(s.row);
        if (!was) this.#total++;
      } else if (was) {
        removed.push(id);
        this.#total--;
      }
    }
    for (const r of view.removedNow()) {
      if (!visible(r.row)) continue;
      removed.push(r.id);
      this.#total--;
    }
    return { rows, removed };
  }

  /** Further behind: every row changed since the generation it has, and every id gone; the total counted again. */
  #since(view: FleetView): { rows: FleetRow[]; removed: string[] } | null {
    const gone = view.removedSince(this.#sentGen);
    if (gone === null) return null;
    const rows: FleetRow[] = [];
    const removed: string[] = [];
    const visible = this.#visible;
    const permissions = this.#permissions;
    let total = 0;
    for (const s of view.servers()) {
      const shown = visible(s.row);
      if (shown) total++;
      if (s.gen <= this.#sentGen) continue;
      // A row that changed out of view may or may not have been in it: say it left, to be sure
      // (only if the token may see it: the id of a server it may not see is never sent).
      if (shown) rows.push(s.row);
      else if (permissions.canSee(s.row.id)) removed.push(s.row.id);
    }
    for (const r of gone) if (!view.server(r.id) && visible(r.row)) removed.push(r.id);
    this.#total = total;
    return { rows, removed };
  }

  async #snapshot(view: FleetView, epoch: number): Promise<void> {
    const rows: FleetRow[] = [];
    const visible = this.#visible;
    for (const s of view.servers()) if (visible(s.row)) rows.push(s.row);
    this.#total = rows.length;
    this.#sentGen = view.generation;
    await this.#send(partsOf(rows, [], true, rows.length, view.readAt), epoch);
  }

  /** Sends parts in order, each once the client has read most of the one before. */
  async #send(parts: FleetUpdate[], epoch: number): Promise<void> {
    if (parts.length === 1) {
      this.#emit(parts[0]!);
      return;
    }
    this.#busy = true;
    try {
      for (const part of parts) {
        // A newer subscribe or stop() ends the wait too: no timer polls for a client nobody sends to.
        const over = () => epoch !== this.#epoch;
        if (over() || !(await drained(this.client, FLEET_DRAIN_BELOW, over)) || over()) return;
        this.#emit(part);
      }
    } finally {
      if (epoch === this.#epoch) this.#busy = false;
    }
  }

  #emit(part: FleetUpdate): void {
    if (part.snapshot) this.#snapshotOpen = !part.complete;
    this.client.emit(ServerEvents.fleetUpdate, part);
  }

}

/**
 * The deltas of one read of the view that several clients get alike: each computed once (by the
 * first client of its key), and each sent once to all of its clients (one encoding, however many).
 */
export class SharedDeltas {
  readonly #deltas = new Map<string, { total: number; part: FleetUpdate | null }>();
  readonly #sends = new Map<FleetUpdate, Client[]>();

  delta(key: string): { total: number; part: FleetUpdate | null } | undefined {
    return this.#deltas.get(key);
  }

  remember(key: string, delta: { total: number; part: FleetUpdate | null }): void {
    this.#deltas.set(key, delta);
  }

  add(part: FleetUpdate, client: Client): void {
    const clients = this.#sends.get(part);
    if (clients) clients.push(client);
    else this.#sends.set(part, [client]);
  }

  /** Sends each part to its clients: `many` for several (one encoding), a plain emit for one. */
  flush(many: ((clients: readonly Client[], event: string, data: unknown) => void) | undefined): void {
    for (const [part, clients] of this.#sends) {
      if (clients.length > 1 && many) many(clients, ServerEvents.fleetUpdate, part);
      else for (const client of clients) client.emit(ServerEvents.fleetUpdate, part);
    }
    this.#sends.clear();
  }
}

/** Who sees a row: the token and the filter in one predicate (no check at all for a token that sees all, unfiltered). */
export function visibility(filter: FleetFilter | undefined, permissions: Permissions): (row: FleetRow) => boolean {
  const match = fleetMatcher(filter);
  if (permissions.seesAll) return isEmptyFleetFilter(filter) ? () => true : match;
  return (row) => permissions.canSee(row.id) && match(row);
}

/** A message's rows and removed ids in parts of at most FLEET_SNAPSHOT_PART each; the last part says complete. */
function partsOf(rows: FleetRow[], removed: string[], snapshot: boolean, total: number, timestamp: number): FleetUpdate[] {
  const count = Math.max(1, Math.ceil(rows.length / FLEET_SNAPSHOT_PART), Math.ceil(removed.length / FLEET_SNAPSHOT_PART));
  const parts: FleetUpdate[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * FLEET_SNAPSHOT_PART;
    parts.push({
      snapshot,
      complete: i === count - 1,
      rows: rows.slice(at, at + FLEET_SNAPSHOT_PART),
      removed: removed.slice(at, at + FLEET_SNAPSHOT_PART),
      total,
      timestamp,
    });
  }
  return parts;
}
