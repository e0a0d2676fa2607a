// Publishing: a tick's reports become ONE BatchWriter.write (one pipelined round trip): status
// events, samples, registry entries and heartbeats. It also owns what a Redis outage costs:
// samples of a failed tick are dropped and counted; status events wait in a bounded queue and
// go out, in order, ahead of the next tick that gets through.
import type { Logger } from 'pino';
import {
  ErrorCodes,
  Keys,
  NAMESPACE,
  ServerEvents,
  metricsRoom,
  type RegistryEntry,
  type StatusChangeBody,
} from '@vigil/protocol';
import { InOrder } from '@vigil/protocol/runtime';
import { broadcastFrame, type AppendOp, type BroadcastFrame, type Batch } from '@vigil/store';
import { COMMAND_MAX_LENGTH } from './proc.js';
import { ProcessInfoBody, processInfoHead, processInfoTail } from './sampler.js';
import type { Writer } from './serial-writer.js';
import type { ServerReport, ServerState, StatusChange, TrackedStatus } from './server-state.js';

/** Longest an unchanged registry entry goes unwritten. */
export const REGISTRY_REFRESH_MS = 15_000;
export const EVENTS_MAX_LEN = 1000;
export const PENDING_EVENTS_MAX = 1000;
/** Nothing reads the positions of a tick's events back: Redis need not send them. */
const NO_POSITIONS = { positions: false };

/** Counters kept across start/stop cycles (plain numbers, no resources). */
export type Counters = {
  ticks: number;
  samplesWritten: number;
  samplesDropped: number;
  eventsDropped: number;
  writeFailures: number;
};

export type PublisherOptions = {
  writer: Writer;
  /** True while the Redis connection is up; during a known outage a tick is dropped without waiting. */
  isConnected: () => boolean;
  collectorId: string;
  host: string;
  historyMaxLen: number;
  logger: Logger;
  counters: Counters;
  /** Told every published batch of reports (alerts/evaluator.ts); absent when no rule is configured. */
  alerts?: { observe(reports: readonly ServerReport[], at: number): void } | null;
  /** A target's fastest interval for viewers, published in its servers' registry entries (absent: none published). */
  minIntervalOf?: (targetId: string) => number | undefined;
};

/** What never changes for one server: its frames, keys and JSON-encoded id, built once. */
type PerServer = { info: BroadcastFrame; status: BroadcastFrame; stream: string; latest: string; head: Buffer };
type Outage = { samplesDropped: number };
/** The inputs of a registry entry as last written (everything else in it is fixed per server), and when. */
type RegistryWritten = { pid: number | null; command: string | null; startedAt: number | null; status: TrackedStatus | null; restarts: number; at: number };

export class Publisher {
  readonly #o: PublisherOptions;
  readonly #uid: string;
  readonly #servers = new Map<string, PerServer>();
  #pending: AppendOp[] = [];
  readonly #order = new InOrder();
  #outage: Outage | null = null;
  /** Events dropped since the last successful write (logged when it leaves 0). */
  #eventsDroppedSinceOk = 0;
  /** What each server's registry entry was last written from, and when. */
  readonly #registryWritten = new Map<string, RegistryWritten>();
  /** Every server this publisher has reported, for the `stopped` it says of them when the collector stops. */
  readonly #reported = new Map<string, ServerState>();

  constructor(options: PublisherOptions) {
    this.#o = options;
    this.#uid = `vigil-collector:${options.collectorId}`;
  }

  get pendingEvents(): number {
    return this.#pending.length;
  }

  /**
   * Writes one tick (or the status changes a supervisor reported between ticks). Never throws: a
   * failed write is counted, logged once per outage, survived. Calls run one after the other, in
   * the order they were made, so queued events are never sent twice or skipped.
   */
  publish(reports: readonly ServerReport[], at: number): Promise<void> {
    return this.#order.run(async () => void (await this.#publish(reports, at)));
  }

  /** Resolves when every publish() made so far is done. */
  settled(): Promise<void> {
    return this.#order.idle();
  }

  /**
   * The collector stops: every server it reported becomes `stopped` (status event, registry entry,
   * a last heartbeat) in one write, behind any queued events. Never throws, like publish().
   */
  publishStopped(at: number): Promise<boolean> {
    return this.#order.run(() => this.#publish([...this.#reported.values()].map((server) => ({ server, sample: null, change: server.stop() })), at));
  }

  /** True when the write went through (a failed one is counted and logged, never thrown). */
  async #publish(reports: readonly ServerReport[], at: number): Promise<boolean> {
    this.#o.alerts?.observe(reports, at);
    for (const r of reports) this.#reported.set(r.server.serverId, r.server);
    const iso = new Date(at).toISOString();
    const appends: AppendOp[] = [];
    const heartbeats: Batch['heartbeats'] = [];
    let samples = 0;
    for (const r of reports) {
      if (r.change) this.#enqueue(this.#statusOp(r.server, r.change, iso));
      heartbeats.push({ serverId: r.server.serverId, at });
    }
    for (const op of this.#pending) appends.push(op);
    for (const r of reports) {
      if (!r.sample) continue;
      appends.push(this.#sampleOp(r, iso));
      samples++;
    }
    const tick: Batch = { appends, registry: this.#registryChanges(reports, at, iso), heartbeats };
    try {
      // Mid-outage, waiting for ioredis to give up on each write would stall sampling.
      if (this.#outage && !this.#o.isConnected()) throw new Error('not connected');
      await this.#o.writer.write(tick, NO_POSITIONS);
    } catch (err) {
      this.#failed(samples, err as Error);
      return false;
    }
    this.#o.counters.samplesWritten += samples;
    const flushed = this.#pending.length;
    this.#pending = [];
    if (this.#outage) {
      const { samplesDropped } = this.#outage;
      this.#outage = null;
      const eventsDropped = this.#eventsDroppedSinceOk;
      this.#o.logger.info({ samplesDropped, eventsDropped, eventsFlushed: flushed }, 'redis writes succeed again');
    }
    this.#eventsDroppedSinceOk = 0;
    return true;
  }

  /**
   * Registry entries that need writing: new or changed ones, and each at least every
   * REGISTRY_REFRESH_MS (a restarted Redis starts empty; heartbeats carry staleness, so an
   * unchanged entry need not be rewritten every tick: that was a third of the per-tick cost).
   * Whether it changed is read from the few server fields it is made of, without building it.
   */
  #registryChanges(reports: readonly ServerReport[], at: number, iso: string): Batch['registry'] {
    const out: Batch['registry'] = [];
    for (const r of reports) {
      const s = r.server;
      const pid = s.process?.pid ?? s.lastPid;
      const last = this.#registryWritten.get(s.serverId);
      if (
        last &&
        at - last.at < REGISTRY_REFRESH_MS &&
        last.pid === pid &&
        last.command === s.command &&
        last.startedAt === s.startedAt &&
        last.status === s.status &&
        last.restarts === s.restarts
      ) {
        continue;
      }
      this.#registryWritten.set(s.serverId, { pid, command: s.command, startedAt: s.startedAt, status: s.status, restarts: s.restarts, at });
      out.push({ serverId: s.serverId, entry: JSON.stringify(this.registryEntry(s, iso)) });
    }
    return out;
  }

  /** Called on stop: events still waiting will never be sent; count and report them. */
  discardPending(): void {
    const n = this.#pending.length;
    if (n === 0) return;
    this.#pending = [];
    this.#o.counters.eventsDropped += n;
    this.#o.logger.warn({ code: ErrorCodes.EVENTS_DROPPED, dropped: n }, 'stopping with undelivered status events');
  }

  registryEntry(s: ServerState, iso: string): RegistryEntry {
    return {
      serverId: s.serverId,
      targetId: s.targetId,
      host: this.#o.host,
      collectorId: this.#o.collectorId,
      pid: s.process?.pid ?? s.lastPid,
      command: s.command === null ? null : s.command.slice(0, COMMAND_MAX_LENGTH),
      startedAt: s.startedAt === null ? null : new Date(s.startedAt).toISOString(),
      status: s.status ?? 'exited',
      restarts: s.restarts,
      intervalMs: s.intervalMs,
      ...minIntervalOf(this.#o, s.targetId),
      staleAfterMs: Math.max(3 * s.intervalMs, 1000),
      updatedAt: iso,
    };
  }

  #failed(samples: number, err: Error): void {
    // Redis may come back empty: write every registry entry again with the next tick.
    this.#registryWritten.clear();
    const c = this.#o.counters;
    c.writeFailures++;
    c.samplesDropped += samples;
    if (!this.#outage) {
      this.#outage = { samplesDropped: 0 };
      this.#o.logger.warn(
        { code: ErrorCodes.REDIS_WRITE_FAILED, err: err.message, cause: (err as { code?: unknown }).code },
        'redis write failed: dropping samples, keeping status events until it recovers',
      );
    }
    this.#outage.samplesDropped += samples;
  }

  #enqueue(op: AppendOp): void {
    this.#pending.push(op);
    if (this.#pending.length <= PENDING_EVENTS_MAX) return;
    // The oldest goes: the newest event says what the state is now.
    this.#pending.shift();
    this.#o.counters.eventsDropped++;
    if (this.#eventsDroppedSinceOk++ === 0) {
      this.#o.logger.warn({ code: ErrorCodes.EVENTS_DROPPED, max: PENDING_EVENTS_MAX }, 'status event queue full: dropping the oldest');
    }
  }

  #server(serverId: string): PerServer {
    let f = this.#servers.get(serverId);
    if (!f) {
      const room = metricsRoom(serverId);
      f = {
        info: broadcastFrame(this.#uid, NAMESPACE, room, ServerEvents.processInfo),
        status: broadcastFrame(this.#uid, NAMESPACE, room, ServerEvents.serverStatusChanged),
        stream: Keys.metrics(serverId),
        latest: Keys.latest(serverId),
        head: processInfoHead(serverId),
      };
      this.#servers.set(serverId, f);
    }
    return f;
  }

  #sampleOp(r: ServerReport, iso: string): AppendOp {
    const f = this.#server(r.server.serverId);
    return {
      stream: f.stream,
      maxLen: this.#o.historyMaxLen,
      latestKey: f.latest,
      body: new ProcessInfoBody(f.head, r.sample!, processInfoTail(r.sample!.at, iso)),
      frame: f.info,
    };
  }

  #statusOp(s: ServerState, change: StatusChange, iso: string): AppendOp {
    const body: StatusChangeBody = { serverId: s.serverId, status: change.status, timestamp: iso, pid: change.pid };
    if (change.previousPid !== undefined) body.previousPid = change.previousPid;
    if (change.reason !== undefined) body.reason = change.reason.slice(0, 200);
    if (change.exitCode !== undefined) body.exitCode = change.exitCode;
    if (change.signal !== undefined) body.signal = change.signal;
    return {
      stream: Keys.events(s.serverId),
      maxLen: EVENTS_MAX_LEN,
      latestKey: null,
      body: JSON.stringify(body),
      frame: this.#server(s.serverId).status,
    };
  }
}

function minIntervalOf(o: PublisherOptions, targetId: string): { minIntervalMs?: number } {
  const ms = o.minIntervalOf?.(targetId);
  return ms === undefined ? {} : { minIntervalMs: ms };
}
