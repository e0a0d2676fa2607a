// One server's log lines, from captured text to what is written: level, message, time and
// metadata read from the line (levels.ts), floods cut by a token bucket, long messages cut with a
// visible marker, the body built once as a string and the broadcast frame of the line's own level
// room (a subscriber at L sits in the rooms of L and above, so each line reaches it once).
// Nothing is dropped silently: the agent writes a `warn` line saying how many were, and why.
import {
  ErrorCodes,
  Keys,
  MAX_LOG_MESSAGE_BYTES,
  NAMESPACE,
  ServerEvents,
  logsLevelRoom,
  LOG_LEVELS,
  type LogLevel,
} from '@vigil/protocol';
import type { Logger } from 'pino';
import { broadcastFrame, type BroadcastFrame } from '@vigil/store';
import { utf8Boundary, type LineSink, type LineStream, type Segment } from './follower.js';
import { parseJsonLine, textLevel } from './levels.js';
import type { TokenBucket } from '@vigil/protocol/runtime';
import { lineBucket, type RateLimit } from './rate-limit.js';
import type { LogCounters, LogLine, LogShipper } from './log-shipper.js';
import type { Redactor } from './redact.js';

/** Lines the agent itself writes about a server (drops, exits) carry `metadata.stream: 'vigil'`. */
export const AGENT_STREAM = 'vigil';
const RATE_REPORT_EVERY_MS = 1000;
const OPEN_BRACE = 123;

export type LogChannelOptions = {
  serverId: string;
  /** The adapter `uid` of broadcasts (not a gateway's). */
  uid: string;
  maxLen: number;
  rateLimit: RateLimit;
  shipper: LogShipper;
  counters: LogCounters;
  /** The agent's own log, where every drop is reported with its code too. */
  logger?: Logger;
  /** Secrets out of captured lines before they are cut to size and written. */
  redactor?: Redactor;
  /** Told each captured line's level and (redacted) message: the server's log alert rules. */
  onLine?: (level: LogLevel, message: string, at: number) => void;
};

type Origin = { stream: LineStream; file?: string; fallback: LogLevel; metadata: string };

export class LogChannel {
  readonly serverId: string;
  readonly #o: LogChannelOptions;
  readonly #stream: string;
  readonly #frames: Record<LogLevel, BroadcastFrame>;
  /** `{"serverId":…,"logData":{"level":"` */
  readonly #prefix: string;
  readonly #bucket: TokenBucket;
  #rateDropped = 0;
  #rateReportedAt = 0;
  #awayDropped = 0;
  #isoAt = -1;
  #iso = '';

  constructor(options: LogChannelOptions) {
    this.#o = options;
    this.serverId = options.serverId;
    this.#stream = Keys.logs(options.serverId);
    this.#frames = Object.fromEntries(
      LOG_LEVELS.map((l) => [l, broadcastFrame(options.uid, NAMESPACE, logsLevelRoom(options.serverId, l), ServerEvents.processLogs)]),
    ) as Record<LogLevel, BroadcastFrame>;
    this.#prefix = `{"serverId":${JSON.stringify(options.serverId)},"logData":{"level":"`;
    this.#bucket = lineBucket(options.rateLimit, Date.now());
  }

  /** Where a follower of `stream` (and `file`) hands its lines. */
  sink(stream: LineStream, file?: string): LineSink {
    const origin: Origin = {
      stream,
      file,
      fallback: stream === 'stderr' ? 'error' : 'info',
      metadata: JSON.stringify(file === undefined ? { stream } : { stream, file }),
    };
    return {
      hasRoom: () => this.#o.shipper.hasRoom(),
      line: (text, cut, at, segment, end) => this.#accept(origin, text, cut, at, segment, end),
    };
  }

  /** A line written by the agent about this server (`vigil: …`). */
  notice(level: LogLevel, message: string, metadata: Record<string, unknown> = {}): void {
    const at = Date.now();
    this.#reportDrops(at);
    this.#push(this.#line(level, message, this.#isoOf(at), null, JSON.stringify({ ...metadata, stream: AGENT_STREAM }), null, 0), false);
  }

  /** Called every second and whenever the buffer has room again: says what had to be dropped. */
  reportDrops(now: number): void {
    this.#reportDrops(now);
  }

  #accept(origin: Origin, text: string, cut: number, at: number, segment?: Segment, end?: number): boolean {
    const c = this.#o.counters;
    c.logLinesRead++;
    if (!this.#bucket.take(at)) {
      c.logLinesRateLimited++;
      this.#rateDropped++;
      return false;
    }
    this.#reportDrops(at);
    // A pipe cannot wait: with the buffer full, the line is counted before any work is spent on it.
    if (segment === undefined && !this.#o.shipper.hasRoom()) return this.#refused();
    let level: LogLevel | null = null;
    let message = text;
    let lineIso: string | null = null;
    let fields: Record<string, unknown> | null = null;
    // Only a line that starts with '{' can be a JSON log line: plain text never reaches JSON.parse.
    if (cut === 0 && text.charCodeAt(0) === OPEN_BRACE) {
      const parsed = parseJsonLine(text);
      if (parsed) {
        level = parsed.level;
        message = parsed.message;
        fields = parsed.fields;
        if (parsed.time !== null) lineIso = new Date(parsed.time).toISOString();
      }
    }
    if (fields === null) level = textLevel(text);
    const redactor = this.#o.redactor;
    if (redactor) {
      message = redactor.logText(message);
      if (fields !== null) fields = redactor.logFields(fields);
    }
    this.#o.onLine?.(level ?? origin.fallback, message, at);
    let truncated = cut;
    // A UTF-16 unit is at most 3 UTF-8 bytes: most lines need no byte count at all.
    if (message.length * 3 > MAX_LOG_MESSAGE_BYTES) {
      const bytes = Buffer.from(message, 'utf8');
      if (bytes.length > MAX_LOG_MESSAGE_BYTES) {
        const kept = utf8Boundary(bytes, 0, MAX_LOG_MESSAGE_BYTES);
        message = bytes.toString('utf8', 0, kept);
        truncated += bytes.length - kept;
      }
    }
    let metadata = origin.metadata;
    if (truncated > 0) {
      c.logLinesTruncated++;
      message += ` …[truncated ${truncated} bytes]`;
    }
    if (fields !== null || truncated > 0) {
      const m: Record<string, unknown> = fields ?? {};
      m.stream = origin.stream;
      if (origin.file !== undefined) m.file = origin.file;
      if (truncated > 0) m.truncated = truncated;
      metadata = JSON.stringify(m);
    }
    const iso = this.#isoOf(at);
    const line = this.#line(level ?? origin.fallback, message, lineIso ?? iso, iso, metadata, segment ?? null, end ?? 0);
    // A file line was promised room by hasRoom() before it was read.
    return this.#push(line, segment !== undefined);
  }

  #line(level: LogLevel, message: string, lineIso: string, iso: string | null, metadata: string, segment: Segment | null, end: number): LogLine {
    return {
      stream: this.#stream,
      maxLen: this.#o.maxLen,
      latestKey: null,
      body: `${this.#prefix}${level}","message":${JSON.stringify(message)},"timestamp":"${lineIso}","metadata":${metadata}},"timestamp":"${iso ?? lineIso}"}`,
      frame: this.#frames[level],
      segment,
      end,
    };
  }

  #push(line: LogLine, force: boolean): boolean {
    return this.#o.shipper.offer(line, force) || this.#refused();
  }

  #refused(): false {
    this.#awayDropped++;
    this.#o.counters.logLinesDropped++;
    return false;
  }

  /**
   * Drop reports go in only where there is room, so they never push the buffer past its bound;
   * until then the counts keep growing. Rate-limit drops are reported at most once a second: in
   * a lasting flood the bucket lets a line through now and then, and each must not bring a report.
   */
  #reportDrops(now: number): void {
    if (this.#awayDropped === 0 && this.#rateDropped === 0) return;
    const shipper = this.#o.shipper;
    if (this.#awayDropped > 0 && shipper.hasRoom()) {
      const n = this.#awayDropped;
      this.#awayDropped = 0;
      const meta = JSON.stringify({ dropped: n, reason: 'redis-unavailable', stream: AGENT_STREAM });
      shipper.offer(this.#line('warn', `vigil: dropped ${n} log lines while Redis was unavailable`, this.#isoOf(now), null, meta, null, 0), true);
      this.#o.logger?.warn({ code: ErrorCodes.LOGS_DROPPED, serverId: this.#o.serverId, dropped: n, reason: 'redis-unavailable' }, 'log lines dropped');
    }
    if (this.#rateDropped > 0 && shipper.hasRoom() && now - this.#rateReportedAt >= RATE_REPORT_EVERY_MS) {
      const n = this.#rateDropped;
      this.#rateDropped = 0;
      this.#rateReportedAt = now;
      const meta = JSON.stringify({ dropped: n, reason: 'rate-limit', stream: AGENT_STREAM });
      shipper.offer(this.#line('warn', `vigil: dropped ${n} log lines (rate limit)`, this.#isoOf(now), null, meta, null, 0), true);
      this.#o.logger?.warn({ code: ErrorCodes.LOGS_DROPPED, serverId: this.#o.serverId, dropped: n, reason: 'rate-limit' }, 'log lines dropped');
    }
  }

  #isoOf(at: number): string {
    if (at !== this.#isoAt) {
      this.#isoAt = at;
      this.#iso = new Date(at).toISOString();
    }
    return this.#iso;
  }
}
