// A subscription to one server's log lines at a level and above. During a (re)join the gateway
// sends replayed lines with live ones interleaved, so lines are held until the ack and then
// delivered sorted by position, skipping any at or before the last delivered one; after that,
// live lines are delivered as they come, duplicates dropped. A re-join resumes after the last
// delivered position, so a reconnect costs no line that the server's history still holds.
import {
  BACKFILL_MAX,
  ClientEvents,
  DEFAULT_LOG_LEVEL,
  LOG_LEVELS,
  comparePositions,
  meetsLevel,
  type LogLevel,
  type ProcessLogsEvent,
  type SubscribeServerLogs,
} from '@vigil/protocol';
import { callSafely } from './emitter.js';
import type { VigilClientError } from './errors.js';
import { Channel, invalidPayload, type ChannelHost, type LogsSubscription } from './subscription.js';

export type GapInfo = {
  serverId: string;
  /** The position the client asked to resume after (null when it asked for a backfill). */
  since: string | null;
  /**
   * `trimmed`: lines after `since` had already left the server's bounded history.
   * `too-far-behind`: the client stopped replaying after MAX_REPLAY_ROUNDS capped replays and
   * skipped to the live lines.
   */
  reason: 'trimmed' | 'too-far-behind';
};

export type LogsOptions = {
  /** Lowest level delivered. Default DEFAULT_LOG_LEVEL, `'trace'` (everything). */
  level?: LogLevel;
  /** On the first join, replay the last N lines at the level (0..BACKFILL_MAX). Default 0. Not with `since`. */
  backfill?: number;
  /** On the first join, replay the lines after this position (all of them, in capped rounds). Not with `backfill`. */
  since?: string;
  onLine(event: ProcessLogsEvent): void;
  onGap?(info: GapInfo): void;
  /** The subscription ended after a permanent refusal on a re-join. */
  onError?(error: VigilClientError): void;
};

/** One capped replay is 10,000 lines: this bounds a catch-up at a million lines. */
export const MAX_REPLAY_ROUNDS = 100;
/**
 * Most lines held during a join: a full replay page and as many live lines. Past it the held lines
 * are let go and read again from history after the last delivered one, so a long catch-up of a
 * chatty server costs rounds, not memory.
 */
export const HELD_MAX = 2 * BACKFILL_MAX;
/**
 * When nothing has been delivered yet, a re-join resumes from a little before the time of the last
 * confirmation (gateway clock; positions use Redis time), unless the gateway reports the history's
 * head position. The margin covers clock skew; at worst a line from just before the first
 * subscription shows up after a reconnect.
 */
const RESUME_MARGIN_MS = 1000;

export class LogsChannel extends Channel {
  readonly kind = 'logs' as const;
  readonly #options: LogsOptions;
  #level: LogLevel;
  #lastDelivered: string | null = null;
  /** Resume point besides the last delivered line: the user's `since`, later what the last join covered. */
  #floor: string | null;
  #joinedOnce = false;
  /** True from the first request of a join until its final ack; lines are held meanwhile. */
  #holding = false;
  #held: ProcessLogsEvent[] = [];
  /** Held lines were let go (HELD_MAX): the join goes on from the last delivered line. */
  #overflowed = false;
  /** When the last line arrived while holding: a replay in progress is not a gateway that stopped answering. */
  #lastArrival = 0;
  readonly #progress = () => this.#lastArrival;
  readonly view: LogsSubscription;

  constructor(host: ChannelHost, serverId: string, options: LogsOptions) {
    super(host, serverId, options.onError);
    this.#options = options;
    this.#level = options.level ?? DEFAULT_LOG_LEVEL;
    this.#floor = options.since ?? null;
    const self = this;
    this.view = Object.freeze({
      kind: 'logs' as const,
      serverId,
      get active() {
        return self.active;
      },
      get lastPosition() {
        return self.#lastDelivered;
      },
      get level() {
        return self.#level;
      },
      unsubscribe: () => self.unsubscribe(),
      setLevel: (level: LogLevel) => self.setLevel(level),
    });
  }

  async setLevel(level: LogLevel): Promise<void> {
    if (!LOG_LEVELS.includes(level)) throw invalidPayload(`level must be one of ${LOG_LEVELS.join(', ')}`);
    this.throwIfFailed();
    if (this.ended || level === this.#level) return;
    this.#level = level;
    await this.join();
    this.throwIfFailed();
  }

  receive(event: ProcessLogsEvent): void {
    if (this.ended || !meetsLevel(event.logData.level, this.#level)) return;
    if (this.#holding) {
      this.#lastArrival = Date.now();
      // Once past the bound, every line of this round is let go: the next round reads them all again.
      if (!this.#overflowed && this.#held.length < HELD_MAX) this.#held.push(event);
      else {
        this.#held = [];
        this.#overflowed = true;
      }
    } else {
      this.#deliver(event);
    }
  }

  protected async exchange(current: () => boolean): Promise<void> {
    this.#holding = true;
    this.#overflowed = false;
    let request = this.#joinRequest();
    for (let round = 1; ; round++) {
      const ack = await this.host.request(ClientEvents.subscribeServerLogs, request, this.#progress);
      if (!current()) return;
      if (ack.gap) this.#reportGap(request.since ?? null, 'trimmed');
      const overflowed = this.#overflowed;
      this.#overflowed = false;
      const next = ack.more ? ack.next : undefined;
      if (overflowed || next !== undefined) {
        if (round < MAX_REPLAY_ROUNDS) {
          if (next !== undefined && !overflowed) {
            // Deliver up to the end of this page only: held live lines beyond it come after the rest of the replay.
            this.#release(next);
            request = { serverId: this.serverId, level: this.#level, since: this.#newer(next, this.#lastDelivered) };
          } else {
            // What was let go is all after the last delivered line: read it again from there.
            request = this.#joinRequest();
          }
          continue;
        }
        this.#reportGap(next ?? this.#lastDelivered, 'too-far-behind');
      }
      this.#joinedOnce = true;
      this.#holding = false;
      this.#release(null);
      // Every line up to the history's head has now been delivered (replayed or live), so a
      // re-join may resume there; without a head, and with nothing delivered, from about now.
      if (ack.head !== undefined) this.#raiseFloor(ack.head);
      else if (this.#lastDelivered === null) this.#raiseFloor(positionBefore(ack.timestamp));
      return;
    }
  }

  /** Resume after what was delivered (or covered); only a first join with no `since` asks for a backfill. */
  #joinRequest(): SubscribeServerLogs {
    const base = { serverId: this.serverId, level: this.#level };
    const since = this.#lastDelivered === null ? this.#floor : this.#newer(this.#lastDelivered, this.#floor);
    if (since !== null) return { ...base, since };
    const backfill = this.#joinedOnce ? 0 : (this.#options.backfill ?? 0);
    return backfill > 0 ? { ...base, backfill } : base;
  }

  /** Delivers held lines in position order, up to `upTo` inclusive (all when null); keeps the rest held. */
  #release(upTo: string | null): void {
    if (this.#held.length === 0) return;
    const held = this.#held.sort((a, b) => comparePositions(a.position, b.position));
    this.#held = [];
    for (const event of held) {
      if (upTo !== null && comparePositions(event.position, upTo) > 0) this.#held.push(event);
      else if (meetsLevel(event.logData.level, this.#level)) this.#deliver(event);
    }
  }

  #deliver(event: ProcessLogsEvent): void {
    if (this.ended) return;
    if (this.#lastDelivered !== null && comparePositions(event.position, this.#lastDelivered) <= 0) return;
    this.#lastDelivered = event.position;
    callSafely(this.#options.onLine, event, this.handlerFailed);
  }

  #reportGap(since: string | null, reason: GapInfo['reason']): void {
    this.host.logger.warn({ serverId: this.serverId, since, reason }, 'log lines lost');
    callSafely(this.#options.onGap, { serverId: this.serverId, since, reason }, this.handlerFailed);
  }

  #raiseFloor(position: string | null): void {
    if (position !== null) this.#floor = this.#newer(position, this.#floor);
  }

  #newer(a: string, b: string | null): string {
    return b !== null && comparePositions(b, a) > 0 ? b : a;
  }
}

/** A position just before the given ISO time (minus the margin), or null if it is not a time. */
function positionBefore(isoTime: string): string | null {
  const ms = Date.parse(isoTime);
  return Number.isFinite(ms) ? `${Math.max(0, ms - RESUME_MARGIN_MS)}-0` : null;
}
