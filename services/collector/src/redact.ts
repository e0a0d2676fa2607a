// What never leaves the host as written: secrets in command lines (the registry's `command`) and,
// as configured, in log lines. Redacted, the secret becomes `***`; the rest stays readable.
//
// - URL credentials: `scheme://user:pass@` → `scheme://user:***@` (command lines, and log lines
//   unless `redact.logs` is "none").
// - Long flags whose name says secret (password, passwd, secret, token, apikey, api-key, api_key,
//   credential, auth): `--db-password=x` → `--db-password=***`, `--token x` → `--token ***`.
// - `KEY=value` whose key says secret (those words, or `key`): `DB_PASSWORD=x` → `DB_PASSWORD=***`.
// - `redact.patterns`: each match becomes `***` (checked at load for catastrophic backtracking).
// Flags, pairs and patterns apply to command lines always, to log lines when `redact.logs` is "all".
import { invalid, type LogRedaction, type RedactConfig } from './config-schema.js';
import { compileConfigRegex, unsafeRegexReason } from './regex-safety.js';

export const MASK = '***';

const SECRET_WORD = /password|passwd|secret|token|api-?key|api_key|credential|auth/i;
const SECRET_KEY = /password|passwd|secret|token|key|credential|auth/i;
const LONG_FLAG = /^(--[A-Za-z0-9][A-Za-z0-9_.-]*)(=.*)?$/s;
const PAIR = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s;
// User and password stop at what ends a URL's authority (and at quotes, so JSON stays intact).
const URL_CREDENTIALS = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:@/"'\\]*):[^\s@/"'\\]+@/g;
// In free text: a secret flag and its value, a secret pair.
const TEXT_FLAG = /(^|\s)(--[A-Za-z0-9][A-Za-z0-9_.-]*)(=|\s+)(?!--)([^\s"]+)/g;
const TEXT_PAIR = /(^|[\s,;&?])([A-Za-z_][A-Za-z0-9_.-]*)=([^\s"&,;]+)/g;

function urls(text: string): string {
  // Most log lines hold no URL: skip the regex for them (it is most of the cost per line).
  return text.includes('://') ? text.replace(URL_CREDENTIALS, `$1:${MASK}@`) : text;
}

export class Redactor {
  readonly #patterns: RegExp[];
  readonly #logs: LogRedaction;

  constructor(patterns: readonly RegExp[] = [], logs: LogRedaction = 'urls') {
    // Global copies: every match is replaced, and lastIndex is never shared with the caller's.
    this.#patterns = patterns.map((p) => new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`));
    this.#logs = logs;
  }

  /**
   * Checks `redact`: each pattern must compile, must not match the empty string, and must run in
   * linear time (regex-safety.ts): a disabled redaction would leak, so an unsafe one stops the load.
   */
  static fromConfig(config: RedactConfig | undefined, field = 'redact'): Redactor {
    const patterns = (config?.patterns ?? []).map((source, i) => {
      const re = compileConfigRegex(source, `${field}.patterns[${i}]`);
      if (re.test('')) throw invalid(`${field}.patterns[${i}]: matches the empty string`);
      const unsafe = unsafeRegexReason(re.source, re.flags, 'redact');
      if (unsafe !== null) throw invalid(`${field}.patterns[${i}]: ${unsafe}`);
      return re;
    });
    return new Redactor(patterns, config?.logs ?? 'urls');
  }

  /** A command line from its arguments, joined with spaces, secrets redacted. */
  argv(argv: readonly string[]): string {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      const flag = LONG_FLAG.exec(arg);
      if (flag && SECRET_WORD.test(flag[1]!)) {
        if (flag[2] !== undefined) out.push(`${flag[1]}=${MASK}`);
        else {
          out.push(arg);
          // The value is the next argument, unless that is another flag.
          const next = argv[i + 1];
          if (next !== undefined && !next.startsWith('--')) {
            out.push(MASK);
            i++;
          }
        }
        continue;
      }
      const pair = flag ? null : PAIR.exec(arg);
      out.push(pair && SECRET_KEY.test(pair[1]!) ? `${pair[1]}=${MASK}` : urls(arg));
    }
    return this.#custom(out.join(' '));
  }

  /** A command line read as one string (arguments joined with spaces). */
  commandLine(text: string): string {
    return this.argv(text.split(' '));
  }

  /** A log message, as far as `redact.logs` says. */
  logText(text: string): string {
    if (this.#logs === 'none') return text;
    if (this.#logs === 'urls') return urls(text);
    const flags = text.replace(TEXT_FLAG, (all, lead: string, name: string, sep: string) =>
      SECRET_WORD.test(name) ? `${lead}${name}${sep}${MASK}` : all,
    );
    const pairs = flags.replace(TEXT_PAIR, (all, lead: string, key: string) => (SECRET_KEY.test(key) ? `${lead}${key}=${MASK}` : all));
    return this.#custom(urls(pairs));
  }

  /** The fields of a JSON log line: string values redacted like messages; with "all", secret-named fields masked. */
  logFields(fields: Record<string, unknown>): Record<string, unknown> {
    if (this.#logs === 'none') return fields;
    const all = this.#logs === 'all';
    // Copy on write: a line with nothing to hide (most lines) is returned as it is, unallocated.
    const walk = (value: unknown, key: string | null, depth: number): unknown => {
      if (key !== null && all && SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'number')) return MASK;
      if (typeof value === 'string') return this.logText(value);
      if (depth > 16 || value === null || typeof value !== 'object') return value;
      if (Array.isArray(value)) {
        let copy: unknown[] | null = null;
        for (let i = 0; i < value.length; i++) {
          const w = walk(value[i], null, depth + 1);
          if (w !== value[i]) (copy ??= [...value])[i] = w;
        }
        return copy ?? value;
      }
      let copy: Record<string, unknown> | null = null;
      for (const k of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[k];
        const w = walk(v, k, depth + 1);
        if (w !== v) (copy ??= { ...value })[k] = w;
      }
      return copy ?? value;
    };
    return walk(fields, null, 0) as Record<string, unknown>;
  }

  #custom(text: string): string {
    let out = text;
    for (const p of this.#patterns) out = out.replace(p, MASK);
    return out;
  }
}
