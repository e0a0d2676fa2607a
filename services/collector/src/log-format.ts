// The collector's own log lines for a person at a terminal: pino's JSON line turned into
// `12:34:56.789 INFO  [host pid] message key=value …`. Written here rather than with pino-pretty:
// that adds a dozen packages and a worker thread to an agent that runs on every node, for one
// line format. Off a TTY (files, journald, Kubernetes) the JSON goes out untouched.
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Shown in the prefix, not repeated among the fields. */
const PREFIX_KEYS = new Set(['level', 'time', 'msg', 'pid', 'host', 'service']);

/** One pino JSON line as one readable line; anything that is not a JSON object is passed through. */
export function formatLine(json: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (rec === null || typeof rec !== 'object') return json;
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rec)
    .filter(([k]) => !PREFIX_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s|"/.test(v) ? v : JSON.stringify(v)}`);
  const tag = color ? `\x1b[${COLORS[level] ?? '0'}m${name}\x1b[0m` : name;
  return `${time} ${tag} [${String(rec.host ?? '')} ${String(rec.pid ?? '')}] ${String(rec.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

/** A pino destination writing readable lines to `out` (synchronously, like pino's default). */
export function prettyDestination(out: NodeJS.WriteStream, color = out.hasColors?.() ?? false): DestinationStream {
  return {
    write(chunk: string) {
      out.write(chunk.split('\n').filter(Boolean).map((l) => formatLine(l, color)).join(''));
    },
  };
}
