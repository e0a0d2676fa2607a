// The gateway's one view of the fleet: a row per server, read from Redis at most once a second
// while someone wants it (fleet subscribers, REST pages), computed once for every client. A read
// is incremental: every heartbeat (one ZRANGE) says which servers a collector wrote since the
// last read (a collector heartbeats every server it reports, with every registry change and every
// sample), and only those have their registry entry and latest sample read again. The registry's
// size tells when an entry came or went without a heartbeat, and every FULL_READ_EVERY reads
// everything is read again (whatever else wrote to the registry shows up within that).
//
// Each read that changes something is a generation. A row remembers the generation it last
// changed in (its position, status, host or collector: a newer heartbeat alone only refreshes
// `lastSeen`) and the row before that change, and removals are logged with theirs, so that a
// subscriber that is one generation behind handles only what changed, and one further behind
// finds everything since, with no per-client copy of the fleet.
import type { Logger } from 'pino';
import { ErrorCodes, FLEET_MAX_SERVERS, type FleetRow, type RegistryEntry, type ServerStatus } from '@vigil/protocol';
import { isStale, type FleetRecord, type FleetStore, type LatestFigures } from '@vigil/store';

/**
 * Every this many reads, every server is read again: a safety net for a registry or latest write
 * that came without a heartbeat (collectors never do that). At 10,000 servers a full read costs
 * about four steady ones (bench/fleet.ts), so once a minute.
 */
export const FULL_READ_EVERY = 60;
/** Generations of removals kept: a subscriber further behind gets a new snapshot instead. */
const REMOVED_LOG_GENERATIONS = 120;

/** One server in the view. */
export type FleetServer = {
  row: FleetRow;
  /** Generation at which the row last changed (position, status, host or collector). */
  gen: number;
  /** The row before that change; null when the server came in that generation. */
  prev: FleetRow | null;
  beat: number | null;
  entryRaw: string;
  entry: RegistryEntry;
  latestRaw: string | null;
  latest: LatestFigures | null;
};

type Removal = { id: string; gen: number; row: FleetRow };

/** What the last read cost (for the bench and the logs). */
export type FleetReadStats = { servers: number; read: number; changed: number; removed: number; full: boolean; ms: number };

export class FleetView {
  readonly #store: FleetStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #servers = new Map<string, FleetServer>();
  /** Heartbeats of ids not in the view (no registry entry, or left out): read again only when their heartbeat moves. */
  readonly #unregistered = new Map<string, number>();
  /** Ids with a registry entry that is not in the view (unreadable, or beyond FLEET_MAX_SERVERS): not read again every time. */
  readonly #leftOut = new Set<string>();
  #gen = 0;
  #changed: string[] = [];
  #removedNow: Removal[] = [];
  #removedLog: Removal[] = [];
  /** The oldest generation whose removals are all still in the log. */
  #horizon = 0;
  #reads = 0;
  #readAt = 0;
  #reading: Promise<void> | null = null;
  #overflowWarned = false;
  lastRead: FleetReadStats | null = null;
  /** Set while a fleet loop reads the view every second (fleet-subscriptions.ts). */
  keptFresh = false;

  constructor(store: FleetStore, logger: Logger, now: () => number = Date.now) {
    this.#store = store;
    this.#logger = logger;
    this.#now = now;
  }

  get generation(): number {
    return this.#gen;
  }

  get size(): number {
    return this.#servers.size;
  }

  /** When the view was last read from Redis (epoch ms; 0: never). */
  get readAt(): number {
    return this.#readAt;
  }

  servers(): IterableIterator<FleetServer> {
    return this.#servers.values();
  }

  server(id: string): FleetServer | undefined {
    return this.#servers.get(id);
  }

  /** Ids whose row changed in the current generation. */
  changedNow(): readonly string[] {
    return this.#changed;
  }

  /** Servers removed in the current generation, with their last row. */
  removedNow(): readonly Removal[] {
    return this.#removedNow;
  }

  /** Servers removed after generation `gen`; null when the log no longer reaches back that far. */
  removedSince(gen: number): Removal[] | null {
    if (gen < this.#horizon) return null;
    return this.#removedLog.filter((r) => r.gen > gen);
  }

  /** Reads the fleet again (one read at a time: a caller during a read shares it); `full`: every server, not only those that changed. */
  read(full = false): Promise<void> {
    this.#reading ??= this.#read(full).finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  /**
   * The view for a request (REST): read now, unless a fleet loop keeps it fresh (then as of its
   * last read, at most about a second ago: a read between two of the loop's would cost every
   * subscriber a catch-up).
   */
  current(refreshMs: number): Promise<void> {
    return this.keptFresh ? this.fresh(2 * refreshMs) : this.read();
  }

  /** Reads unless the view is younger than `maxAgeMs`. */
  async fresh(maxAgeMs: number): Promise<void> {
    if (this.#reading) return this.#reading;
    if (this.#now() - this.#readAt <= maxAgeMs) return;
    return this.read();
  }

  async #read(forceFull: boolean): Promise<void> {
    const started = performance.now();
    const full = this.#reads++ % FULL_READ_EVERY === 0 || forceFull;
    const { beats, registered } = await this.#store.heartbeats();
    const now = this.#now();
    const dirty = new Set<string>();
    if (full) {
      for (const id of this.#servers.keys()) dirty.add(id);
      for (const id of beats.keys()) dirty.add(id);
    } else {
      for (const [id, at] of beats) {
        const known = this.#servers.get(id);
        if (known ? known.beat !== at : this.#unregistered.get(id) !== at) dirty.add(id);
      }
      // A heartbeat that went away: the server was removed (or only its heartbeat was).
      for (const [id, s] of this.#servers) if (s.beat !== null && !beats.has(id)) dirty.add(id);
    }
    const next = new Generation(this.#gen + 1);
    let records = await this.#store.read([...dirty]);
    let read = records.length;
    for (const record of records) this.#apply(record, beats.get(record.id) ?? null, now, next);
    if (registered !== this.#servers.size + this.#leftOut.size) {
      // An entry came or went without a heartbeat: the registry's ids say which.
      const ids = new Set(await this.#store.registeredIds());
      for (const [id, s] of this.#servers) if (!ids.has(id)) this.#remove(id, s, next);
      for (const id of this.#leftOut) if (!ids.has(id)) this.#leftOut.delete(id);
      records = await this.#store.read([...ids].filter((id) => !this.#servers.has(id) && !this.#leftOut.has(id) && !dirty.has(id)));
      read += records.length;
      for (const record of records) this.#apply(record, beats.get(record.id) ?? null, now, next);
    }
    for (const id of this.#unregistered.keys()) if (!beats.has(id)) this.#unregistered.delete(id);
    // Time alone turns a server stale.
    for (const s of this.#servers.values()) {
      const status = statusOf(s.entry, s.beat, now);
      if (status !== s.row.status) this.#update(s, { ...s.row, status }, next);
    }
    this.#readAt = now;
    if (next.changed.length > 0 || next.removed.length > 0) this.#commit(next);
    this.lastRead = { servers: this.#servers.size, read, changed: next.changed.length, removed: next.removed.length, full, ms: performance.now() - started };
  }

  #apply(record: FleetRecord, beat: number | null, now: number, next: Generation): void {
    const { id } = record;
    const known = this.#servers.get(id);
    const entry = record.entry === null ? null : known && known.entryRaw === record.entry ? known.entry : this.#store.parseEntry(id, record.entry);
    if (entry === null) {
      if (known) this.#remove(id, known, next);
      if (record.entry !== null) this.#leftOut.add(id);
      else this.#leftOut.delete(id);
      if (beat !== null) this.#unregistered.set(id, beat);
      return;
    }
    this.#unregistered.delete(id);
    this.#leftOut.delete(id);
    const latest =
      record.latest === null ? null : known && known.latestRaw === record.latest ? known.latest : this.#store.parseLatest(id, record.latest);
    const row = rowOf(id, entry, latest, beat, now);
    if (!known) {
      if (this.#servers.size >= FLEET_MAX_SERVERS) {
        if (!this.#overflowWarned) this.#logger.warn({ code: ErrorCodes.INTERNAL, max: FLEET_MAX_SERVERS }, 'fleet view is full: servers beyond it are left out');
        this.#overflowWarned = true;
        this.#leftOut.add(id);
        return;
      }
      this.#servers.set(id, { row, gen: next.gen, prev: null, beat, entryRaw: record.entry!, entry, latestRaw: record.latest, latest });
      next.changed.push(id);
      return;
    }
    known.beat = beat;
    known.entryRaw = record.entry!;
    known.entry = entry;
    known.latestRaw = record.latest;
    known.latest = latest;
    this.#update(known, row, next);
  }

  /** A new row: a new generation for it if what subscribers compare changed, else only its `lastSeen`. */
  #update(s: FleetServer, row: FleetRow, next: Generation): void {
    const old = s.row;
    if (old.position === row.position && old.status === row.status && old.host === row.host && old.collector === row.collector) {
      s.row = row;
      return;
    }
    if (s.gen !== next.gen) {
      s.prev = old;
      s.gen = next.gen;
      next.changed.push(row.id);
    }
    s.row = row;
  }

  #remove(id: string, s: FleetServer, next: Generation): void {
    this.#servers.delete(id);
    next.removed.push({ id, gen: next.gen, row: s.row });
  }

  #commit(next: Generation): void {
    this.#gen = next.gen;
    this.#changed = next.changed;
    this.#removedNow = next.removed;
    this.#removedLog.push(...next.removed);
    const oldest = next.gen - REMOVED_LOG_GENERATIONS;
    if (this.#removedLog.length > FLEET_MAX_SERVERS || (this.#removedLog[0] && this.#removedLog[0].gen <= oldest)) {
      let keep = this.#removedLog.filter((r) => r.gen > oldest);
      if (keep.length > FLEET_MAX_SERVERS) keep = keep.slice(keep.length - FLEET_MAX_SERVERS);
      // A removal dropped from the log: a subscriber at or before its generation cannot catch up.
      const dropped = this.#removedLog[this.#removedLog.length - keep.length - 1];
      if (dropped) this.#horizon = Math.max(this.#horizon, dropped.gen);
      this.#removedLog = keep;
    }
  }
}

/** What one read changes. */
class Generation {
  readonly changed: string[] = [];
  readonly removed: Removal[] = [];
  constructor(readonly gen: number) {}
}

function statusOf(entry: RegistryEntry, beat: number | null, now: number): ServerStatus {
  return isStale(entry.status, beat, entry.staleAfterMs, now) ? 'stale' : entry.status;
}

function rowOf(id: string, entry: RegistryEntry, latest: LatestFigures | null, beat: number | null, now: number): FleetRow {
  const seen = latest?.at ?? null;
  return {
    id,
    host: entry.host,
    collector: entry.collectorId,
    status: statusOf(entry, beat, now),
    cpu: latest?.cpu ?? null,
    rss: latest?.rss ?? null,
    uptime: latest?.uptime ?? null,
    lastSeen: beat === null ? seen : seen === null ? beat : Math.max(beat, seen),
    position: latest?.position ?? null,
  };
}
