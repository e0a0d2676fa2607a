// Log lines on their way to Redis: one bounded buffer per collector, written in batches (500 lines,
// or 20 ms after the first waiting line), one BatchWriter.write() per batch, strictly in order.
// While Redis is away the buffer holds what it can and retries with backoff (at most 1 s apart,
// at once when the connection is back); when it is full, the newest lines are refused (the
// channel counts them and says so in the log once there is room again), so what was kept is the
// earliest, gap-free, stretch. A written file line is reported to its follower, which remembers it.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import type { AppendOp } from '@vigil/store';
import type { Segment } from './follower.js';
import type { Writer } from './serial-writer.js';

/** A line ready to write, and where it was read from when it came from a file. */
export type LogLine = AppendOp & { body: string; segment: Segment | null; end: number };

export type LogCounters = {
  logLinesRead: number;
  logLinesWritten: number;
  logLinesTruncated: number;
  logLinesRateLimited: number;
  /** Refused by a full buffer, or still unwritten at stop (stdout/stderr lines). */
  logLinesDropped: number;
};

export const BATCH_LINES = 500;
export const BATCH_DELAY_MS = 20;
const MAX_RETRY_MS = 1000;

export type LogShipperOptions = {
  writer: Writer;
  isConnected: () => boolean;
  maxLines: number;
  maxBytes: number;
  logger: Logger;
  counters: LogCounters;
  /** Called after a write made room: the channels report what they had to drop. */
  onRoom: () => void;
};

export class LogShipper {
  readonly #o: LogShipperOptions;
  #queue: LogLine[] = [];
  #head = 0;
  #bytes = 0;
  #timer: NodeJS.Timeout | null = null;
  /** When the oldest line not in a write in flight arrived. */
  #firstWaitingAt = 0;
  #inFlight = 0;
  #writing: Promise<void> | null = null;
  #failures = 0;
  #closed = false;

  constructor(options: LogShipperOptions) {
    this.#o = options;
  }

  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Bytes of line bodies held (the bound logBufferBytes applies to). */
  get pendingBytes(): number {
    return this.#bytes;
  }

  hasRoom(): boolean {
    return !this.#closed && this.pending < this.#o.maxLines && this.#bytes < this.#o.maxBytes;
  }

  /** Buffers a line; false when there is no room. `force` is for a line a follower was already promised room for. */
  offer(line: LogLine, force = false): boolean {
    if (this.#closed || (!force && !this.hasRoom())) return false;
    if (this.pending === this.#inFlight) this.#firstWaitingAt = performance.now();
    this.#queue.push(line);
    this.#bytes += line.body.length;
    if (this.#writing === null && this.#failures === 0) {
      if (this.pending >= BATCH_LINES) this.#flushNow();
      else if (this.#timer === null) this.#timer = setTimeout(() => this.#flush(), BATCH_DELAY_MS);
    }
    return true;
  }

  /** The connection is back: retry now rather than at the end of the backoff. */
  wake(): void {
    if (this.#failures > 0 && this.#writing === null && this.pending > 0) this.#flushNow();
  }

  /**
   * At stop: writes what is buffered while writes succeed, then gives the rest up. Unwritten file
   * lines are read again at the next start; the others are counted as dropped.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#writing;
    while (this.pending > 0 && (this.#failures === 0 || this.#o.isConnected())) {
      if (!(await this.#writeBatch())) break;
    }
    let dropped = 0;
    let reread = 0;
    for (let i = this.#head; i < this.#queue.length; i++) {
      if (this.#queue[i]!.segment) reread++;
      else dropped++;
    }
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#o.counters.logLinesDropped += dropped;
    if (dropped + reread > 0) {
      this.#o.logger.warn({ dropped, reread }, 'stopping with unwritten log lines: file lines will be read again at the next start, the others are lost');
    }
  }

  #flushNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #flush(): void {
    this.#timer = null;
    if (this.#writing !== null || this.#closed || this.pending === 0) return;
    this.#writing = this.#writeBatch().then((ok) => {
      this.#writing = null;
      if (this.#closed || this.pending === 0) return;
      let delay: number;
      if (!ok) delay = Math.min(BATCH_DELAY_MS * 2 ** this.#failures, MAX_RETRY_MS);
      else if (this.pending >= BATCH_LINES) delay = 0;
      else delay = Math.max(0, this.#firstWaitingAt + BATCH_DELAY_MS - performance.now());
      if (delay === 0) this.#flush();
      else this.#timer = setTimeout(() => this.#flush(), delay);
    });
  }

  /** One write of the oldest lines; true when it went through. Never throws. */
  async #writeBatch(): Promise<boolean> {
    const n = Math.min(BATCH_LINES, this.pending);
    // Mid-outage, waiting for the client to give up on each write would only delay the retry.
    if (this.#failures > 0 && !this.#o.isConnected()) return this.#failed(new Error('not connected'));
    const batch = this.#queue.slice(this.#head, this.#head + n);
    this.#inFlight = n;
    try {
      await this.#o.writer.write({ appends: batch, registry: [], heartbeats: [] }, { positions: false });
    } catch (err) {
      return this.#failed(err as Error);
    } finally {
      this.#inFlight = 0;
    }
    this.#head += n;
    for (const line of batch) {
      this.#bytes -= line.body.length;
      if (line.segment) line.segment.owner.written(line.segment, line.end);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#o.counters.logLinesWritten += n;
    if (this.#failures > 0) {
      this.#o.logger.info({ failedWrites: this.#failures, pending: this.pending }, 'log lines reach redis again');
      this.#failures = 0;
    }
    this.#o.onRoom();
    return true;
  }

  #failed(err: Error): false {
    if (this.#failures++ === 0) {
      this.#o.logger.warn(
        { code: ErrorCodes.REDIS_WRITE_FAILED, err: err.message, pending: this.pending },
        'redis write of log lines failed: holding them until it recovers',
      );
    }
    return false;
  }
}
