// What level a captured line is at, and what its message, time and fields are. JSON lines (pino,
// bunyan and the like) say so themselves; text lines only when they start with a level word in one
// of a few unambiguous shapes. Anything else takes the stream's default (stdout/file info, stderr
// error). Kept conservative on purpose: a wrong "error" is worse than a plain "info".
import type { LogLevel } from '@vigil/protocol';

export type JsonLine = {
  level: LogLevel | null;
  message: string;
  /** Epoch ms from `time`/`timestamp`, when it parses. */
  time: number | null;
  /** The remaining fields, for metadata. */
  fields: Record<string, unknown>;
};

const NAMES: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
};

/** Fields that describe the line rather than the event: never copied into metadata. */
const OMITTED = new Set(['level', 'msg', 'message', 'time', 'timestamp', 'pid', 'hostname', 'v']);

/** Metadata keys longer than this are cut (the wire schema allows 128). */
const MAX_KEY_LENGTH = 128;

function levelOfName(name: string): LogLevel | null {
  return NAMES[name.toLowerCase()] ?? null;
}

/** pino/bunyan numbers: 10 trace … 60 fatal; custom levels in between go to the nearest below. */
export function levelOfNumber(n: number): LogLevel {
  if (n < 20) return 'trace';
  if (n < 30) return 'debug';
  if (n < 40) return 'info';
  if (n < 50) return 'warn';
  if (n < 60) return 'error';
  return 'fatal';
}

/** Epoch ms of a `time`/`timestamp` value: ms or s since the epoch, or a date string. */
function timeOf(value: unknown): number | null {
  let ms: number;
  if (typeof value === 'number') ms = value < 1e11 ? value * 1000 : value;
  else if (typeof value === 'string' && value.length <= 64) ms = Date.parse(value);
  else return null;
  // Outside Date's range toISOString() throws; before 1971 it is not a log line's time.
  return Number.isFinite(ms) && ms > 3.2e10 && ms < 8.64e15 ? ms : null;
}

/**
 * A line that is a JSON object, read as a structured log line; null when it is not one (the
 * caller checks the first character first, so plain text never reaches JSON.parse).
 */
export function parseJsonLine(text: string): JsonLine | null {
  let value: unknown;
  try {
    // No reviver (it costs more than the parse): `__proto__` is skipped below, where it matters.
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  let level: LogLevel | null = null;
  if (typeof o.level === 'number' && Number.isFinite(o.level)) level = levelOfNumber(o.level);
  else if (typeof o.level === 'string') level = levelOfName(o.level);
  const msg = o.msg ?? o.message;
  const message = typeof msg === 'string' ? msg : msg === undefined || msg === null ? text : JSON.stringify(msg);
  const rawTime = o.time !== undefined ? o.time : o.timestamp;
  const time = timeOf(rawTime);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    // An unparseable time stays visible in metadata rather than vanishing.
    if (OMITTED.has(key) && !((key === 'time' || key === 'timestamp') && time === null)) continue;
    if (key === '__proto__') continue;
    fields[key.length > MAX_KEY_LENGTH ? key.slice(0, MAX_KEY_LENGTH) : key] = o[key];
  }
  if (level === null && typeof o.level === 'string') fields.level = o.level;
  return { level, message, time, fields };
}

// Text lines. Recognized at the very start of the line, optionally after an ISO-8601 timestamp:
//   [LEVEL] / [level]      bracketed, any case                 "[WARN] disk almost full"
//   LEVEL followed by ' ', ':' or the end, upper case only   "ERROR cannot bind", "WARNING:root:x"
//   level: followed by ' ' or the end, any case               "warn: slow query", "Error: boom"
//   glog: [IWEFD]mmdd hh:mm:ss.ffffff                         "E1121 12:00:00.123456 1 main.go:5] x"
// A bare letter ("E boom") or a lower-case word without a colon ("error handling works") is not
// a level: too many ordinary sentences start that way.
const ISO_PREFIX = String.raw`(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\s+)?`;
const WORDS = Object.keys(NAMES).join('|');
const TEXT_LEVEL = new RegExp(
  `^${ISO_PREFIX}(?:\\[(${WORDS})\\](?: |$)|(${WORDS}):(?: |$)|(${WORDS})(?:[ :]|$))`,
  'i',
);
const GLOG = /^([IWEFD])\d{4} \d{2}:\d{2}:\d{2}\.\d{6} /;
const GLOG_LEVELS: Record<string, LogLevel> = { I: 'info', W: 'warn', E: 'error', F: 'fatal', D: 'debug' };

export function textLevel(text: string): LogLevel | null {
  const c = text.charCodeAt(0);
  // Fast exit: a level prefix starts with a letter, '[' or a timestamp digit.
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (!letter && c !== 91 && !(c >= 48 && c <= 57)) return null;
  const g = c <= 90 ? GLOG.exec(text) : null;
  if (g) return GLOG_LEVELS[g[1]!]!;
  const m = TEXT_LEVEL.exec(text);
  if (!m) return null;
  if (m[3] !== undefined && m[3] !== m[3].toUpperCase()) return null; // bare words: upper case only
  return levelOfName(m[1] ?? m[2] ?? m[3]!);
}
