// One server's log tail: a live subscription (backfill on open, resumed by the client after any
// reconnect), older lines paged in from REST on demand, a level filter, and pause. Memory is
// bounded however long the page stays open: at most MAX_LINES shown and MAX_LINES held while paused.
import type { LogLevel, LogsSubscription, ProcessLogsEvent, VigilClient } from '@vigil/client';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, comparePositions, meetsLevel, positionTime } from '@vigil/protocol';
import { isForbidden } from './access.js';
import type { RestApi } from './api.js';
import { Observable } from './observable.js';

export const MAX_LINES = 2000;
export const BACKFILL = 200;
export const OLDER_PAGE = 200;
const MAX_NOTICES = 5;

export type TailLine = {
  position: string;
  level: LogLevel;
  message: string;
  /** The line's own time when it had one, else when it was read; epoch ms. */
  time: number;
  stream: string | null;
};

export type OlderState = 'idle' | 'loading' | 'exhausted';
/** `user`: the Pause button; `scroll`: the reader scrolled away from the newest line. */
export type PauseReason = 'user' | 'scroll';

/**
 * A tail being stopped still holds its server's logs subscription until the gateway confirmed it
 * (the client allows one per server): a new tail of that server waits for the release.
 */
const releasing = new Map<string, Promise<void>>();

export class LogTail extends Observable {
  readonly serverId: string;
  readonly #client: VigilClient;
  readonly #api: RestApi;
  #level: LogLevel;
  #lines: TailLine[] = [];
  #pending: TailLine[] = [];
  #pendingDropped = 0;
  #droppedOldest = 0;
  #paused: PauseReason | null = null;
  /** The newest lines were let go to make room for older ones: resuming reloads the tail. */
  #detached = false;
  #older: OlderState = 'idle';
  #notices: string[] = [];
  #ready = false;
  #error: string | null = null;
  /** The sign-in does not allow reading these logs: the view says so instead of showing an error. */
  #forbidden = false;
  #subscribing: Promise<LogsSubscription> | null = null;
  #subscription: LogsSubscription | null = null;
  /** Bumped by every level change and reload: answers to older requests are ignored. */
  #generation = 0;
  #stopped = false;
  #connected: boolean;
  #offState: (() => void) | null = null;
  /** How many lines the last change put above the first one shown: the view keeps its place. */
  prepended = 0;
  prependVersion = 0;

  constructor(client: VigilClient, api: RestApi, serverId: string, level: LogLevel = DEFAULT_LOG_LEVEL) {
    super();
    this.#client = client;
    this.#api = api;
    this.serverId = serverId;
    this.#level = level;
    this.#connected = client.state.name === 'connected';
  }

  get lines(): readonly TailLine[] {
    return this.#lines;
  }
  get level(): LogLevel {
    return this.#level;
  }
  get paused(): PauseReason | null {
    return this.#paused;
  }
  get pendingCount(): number {
    return this.#pending.length;
  }
  get pendingDropped(): number {
    return this.#pendingDropped;
  }
  get droppedOldest(): number {
    return this.#droppedOldest;
  }
  get older(): OlderState {
    return this.#older;
  }
  get notices(): readonly string[] {
    return this.#notices;
  }
  get ready(): boolean {
    return this.#ready;
  }
  get error(): string | null {
    return this.#forbidden ? null : this.#error;
  }
  get forbidden(): boolean {
    return this.#forbidden;
  }
  /** While false, lines wait in the server's history; the client resumes after the last one shown. */
  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    this.#offState = this.#client.on('state', (state) => {
      this.#connected = state.name === 'connected';
      this.changed();
    });
    const previous = releasing.get(this.serverId);
    if (previous) await previous;
    if (this.#stopped) return;
    this.#subscribing = this.#client.subscribeLogs(this.serverId, {
      level: this.#level,
      backfill: BACKFILL,
      onLine: (event) => this.#receive(event),
      onGap: (gap) => this.#notice(`Some lines ${gap.since ? `after ${gap.since} ` : ''}had already left the server's history (${gap.reason}).`),
      onError: (err) => this.#fail(`The log subscription ended: ${err.message}`, err),
    });
    try {
      const subscription = await this.#subscribing;
      if (this.#stopped) return;
      this.#subscription = subscription;
      this.#ready = true;
      // A backfill shorter than asked for is the whole history at this level.
      if (this.#lines.length + this.#pending.length < BACKFILL) this.#older = 'exhausted';
      // The level may have changed while the first join was on its way.
      if (subscription.level !== this.#level) await subscription.setLevel(this.#level);
      this.changed();
    } catch (err) {
      this.#fail(`Could not follow the logs: ${(err as Error).message}`, err);
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#offState?.();
    const subscribing = this.#subscribing;
    if (!subscribing) return;
    const released = subscribing.then(
      (s) => s.unsubscribe(),
      () => undefined,
    );
    releasing.set(this.serverId, released);
    void released.finally(() => {
      if (releasing.get(this.serverId) === released) releasing.delete(this.serverId);
    });
  }

  async setLevel(level: LogLevel): Promise<void> {
    if (!LOG_LEVELS.includes(level) || level === this.#level) return;
    const generation = ++this.#generation;
    const moreVerbose = !meetsLevel(level, this.#level);
    this.#level = level;
    this.#lines = this.#lines.filter((l) => meetsLevel(l.level, level));
    this.#pending = this.#pending.filter((l) => meetsLevel(l.level, level));
    this.changed();
    try {
      await this.#subscription?.setLevel(level);
    } catch (err) {
      this.#fail(`Could not change the level: ${(err as Error).message}`, err);
      return;
    }
    // Lines below the old level were never received: read the newest of them from history, and
    // drop what is older than that page (it would lack them).
    if (moreVerbose) await this.#reload(generation);
  }

  pause(reason: PauseReason = 'user'): void {
    if (this.#paused === 'user' && reason === 'scroll') return;
    this.#paused = reason;
    this.changed();
  }

  /** Back to live: lines held while paused are shown (or the tail is read again if it lost touch). */
  async resume(): Promise<void> {
    if (!this.#paused) return;
    this.#paused = null;
    const pending = this.#pending;
    this.#pending = [];
    const reload = this.#detached || this.#pendingDropped > 0;
    this.#pendingDropped = 0;
    this.#detached = false;
    for (const line of pending) this.#append(line);
    this.changed();
    if (reload) await this.#reload(++this.#generation);
  }

  /** Reads the page just older than the first line shown; past MAX_LINES, the newest lines make room. */
  async loadOlder(): Promise<void> {
    if (this.#older === 'loading' || this.#older === 'exhausted' || this.#stopped) return;
    const generation = this.#generation;
    const first = this.#lines[0];
    this.#older = 'loading';
    this.changed();
    try {
      const page = await this.#api.logs(this.serverId, {
        level: this.#level,
        limit: OLDER_PAGE,
        ...(first ? { before: first.position } : {}),
      });
      if (generation !== this.#generation || this.#stopped) return;
      const head = this.#lines[0];
      const older = page.items.filter((e) => !head || comparePositions(e.position, head.position) < 0).map(toLine);
      const room = MAX_LINES - this.#lines.length;
      if (older.length > room) {
        // Reading back in time: let the newest lines go, and stop following live until resumed.
        this.#lines.splice(this.#lines.length - (older.length - room));
        this.#detached = true;
        if (!this.#paused) this.#paused = 'scroll';
      }
      this.#lines = older.concat(this.#lines);
      this.prepended = older.length;
      this.prependVersion++;
      if (older.length > 0 && this.#droppedOldest > 0) this.#droppedOldest = Math.max(0, this.#droppedOldest - older.length);
      this.#older = page.next === null ? 'exhausted' : 'idle';
    } catch (err) {
      this.#older = 'idle';
      this.#notice(`Could not read older lines: ${(err as Error).message}`);
    }
    this.changed();
  }

  #receive(event: ProcessLogsEvent): void {
    if (this.#stopped || !meetsLevel(event.logData.level, this.#level)) return;
    const line = toLine(event);
    if (this.#paused) {
      this.#pending.push(line);
      if (this.#pending.length > MAX_LINES) {
        this.#pending.shift();
        this.#pendingDropped++;
      }
    } else {
      this.#append(line);
    }
    this.changed();
  }

  /** In position order, each position once; past MAX_LINES the oldest go. */
  #append(line: TailLine): void {
    const lines = this.#lines;
    const last = lines[lines.length - 1];
    if (!last || comparePositions(line.position, last.position) > 0) {
      lines.push(line);
    } else {
      const at = insertionPoint(lines, line.position);
      if (lines[at]?.position === line.position) return;
      lines.splice(at, 0, line);
    }
    if (lines.length > MAX_LINES) {
      const extra = lines.length - MAX_LINES;
      lines.splice(0, extra);
      this.#droppedOldest += extra;
      if (this.#older !== 'loading') this.#older = 'idle';
    }
  }

  /** The newest page from history merged with what is shown after it. */
  async #reload(generation: number): Promise<void> {
    try {
      const page = await this.#api.logs(this.serverId, { level: this.#level, limit: BACKFILL });
      if (generation !== this.#generation || this.#stopped) return;
      const oldest = page.items[0];
      if (oldest) {
        const kept = this.#lines.filter((l) => comparePositions(l.position, oldest.position) > 0);
        this.#lines = [];
        for (const event of page.items) this.#lines.push(toLine(event));
        for (const line of kept) this.#append(line);
        this.#droppedOldest = 0;
        this.#older = page.next === null ? 'exhausted' : 'idle';
        this.prepended = 0;
        this.prependVersion++;
      }
    } catch (err) {
      this.#notice(`Could not read the log history: ${(err as Error).message}`);
    }
    this.changed();
  }

  #notice(text: string): void {
    this.#notices = [...this.#notices, text].slice(-MAX_NOTICES);
    this.changed();
  }

  #fail(message: string, err: unknown): void {
    this.#error = message;
    this.#forbidden ||= isForbidden(err);
    this.changed();
  }
}

function insertionPoint(lines: readonly TailLine[], position: string): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePositions(lines[mid]!.position, position) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toLine(event: ProcessLogsEvent): TailLine {
  const own = Date.parse(event.logData.timestamp);
  const stream = event.logData.metadata['stream'];
  return {
    position: event.position,
    level: event.logData.level,
    message: event.logData.message,
    time: Number.isFinite(own) ? own : positionTime(event.position),
    stream: typeof stream === 'string' ? stream : null,
  };
}
