// The collector's configuration: one TypeBox schema for the JSON file, the checks a schema cannot
// express (one selector per target, unique server ids, regexes that compile, a usable Redis URL),
// and the merge of file, environment and command-line flags. Every error is a VigilError whose
// message starts with the exact field path, e.g. `targets[2].match: invalid regular expression`.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_INTERVAL_MS, ErrorCodes, SERVER_ID_PATTERN, ServerId, VigilError, compile, parseJson } from '@vigil/protocol';
import { parseRedisUrl } from '@vigil/store';
import { parseFlags, type Flags } from './flags.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_HISTORY_MAX_LEN = 720;
export const DEFAULT_MAX_INSTANCES = 16;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const Interval = Type.Integer({ minimum: 100, maximum: 3_600_000 });

export const TargetSchema = Type.Object(
  {
    id: ServerId,
    pid: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_194_304 })),
    pidfile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    match: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    maxInstances: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    intervalMs: Type.Optional(Interval),
  },
  { additionalProperties: false },
);

export const SelfSchema = Type.Object({ id: ServerId, intervalMs: Type.Optional(Interval) }, { additionalProperties: false });

const FileSchema = Type.Object(
  {
    redisUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    collectorId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    defaults: Type.Optional(
      Type.Object(
        { intervalMs: Type.Optional(Interval), historyMaxLen: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) },
        { additionalProperties: false },
      ),
    ),
    // Checked on its own below: a union would only say "Expected union value".
    self: Type.Optional(Type.Unknown()),
    targets: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

/** A target as written in the file or handed to createCollector: exactly one selector. */
export type TargetConfig = { id: string; intervalMs?: number } & (
  | { pid: number }
  | { pidfile: string }
  | { match: string; maxInstances?: number }
);
export type SelfConfig = { id: string; intervalMs?: number };

/** A checked target, selector resolved, ready to watch. */
export type Target =
  | { kind: 'pid'; id: string; intervalMs: number; pid: number }
  | { kind: 'pidfile'; id: string; intervalMs: number; pidfile: string }
  | { kind: 'match'; id: string; intervalMs: number; match: RegExp; maxInstances: number }
  | { kind: 'self'; id: string; intervalMs: number };

export type CollectorConfig = {
  redisUrl: string;
  collectorId: string;
  host: string;
  historyMaxLen: number;
  self: SelfConfig | false;
  targets: TargetConfig[];
  logLevel: (typeof LOG_LEVELS)[number];
};

const checkFile = compile(FileSchema);
const checkTarget = compile(TargetSchema);
const checkSelf = compile(SelfSchema);
const serverIdRe = new RegExp(SERVER_ID_PATTERN);

export function invalid(message: string): VigilError {
  return new VigilError(ErrorCodes.CONFIG_INVALID, message);
}

/** `/targets/2/match: …` (TypeBox's JSON pointer) → `targets[2].match: …`. */
function withFieldPath(prefix: string, explained: string): string {
  const m = /^(\/\S*|payload): ([\s\S]*)$/.exec(explained);
  if (!m) return `${prefix || 'config'}: ${explained}`;
  let path = prefix;
  for (const part of m[1] === 'payload' ? [] : m[1]!.split('/').slice(1)) {
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return `${path || 'config'}: ${m[2]}`;
}

/**
 * Checks targets (and the optional self target) and resolves their selectors. Used for the file
 * and for createCollector's options alike, so both fail with the same messages.
 */
export function resolveTargets(targets: readonly unknown[], self: unknown, defaultIntervalMs = DEFAULT_INTERVAL_MS): Target[] {
  const out: Target[] = [];
  const owner = new Map<string, string>();
  const claim = (serverId: string, field: string) => {
    if (!serverIdRe.test(serverId)) throw invalid(`${field}: server id "${serverId}" is not valid (pattern ${SERVER_ID_PATTERN})`);
    const other = owner.get(serverId);
    if (other !== undefined) throw invalid(`${field}: duplicate server id "${serverId}" (also ${other})`);
    owner.set(serverId, field);
  };
  if (self !== undefined && self !== false) {
    const why = checkSelf.explain(self);
    if (why) throw invalid(withFieldPath('self', why));
    const s = self as Static<typeof SelfSchema>;
    claim(s.id, 'self.id');
    out.push({ kind: 'self', id: s.id, intervalMs: s.intervalMs ?? defaultIntervalMs });
  }
  targets.forEach((raw, i) => {
    const at = `targets[${i}]`;
    const why = checkTarget.explain(raw);
    if (why) throw invalid(withFieldPath(at, why));
    const t = raw as Static<typeof TargetSchema>;
    const selectors = (['pid', 'pidfile', 'match'] as const).filter((k) => t[k] !== undefined);
    if (selectors.length !== 1) {
      const got = selectors.length === 0 ? 'none' : selectors.join(' and ');
      throw invalid(`${at}: exactly one of pid, pidfile, match is required, got ${got}`);
    }
    if (t.maxInstances !== undefined && t.match === undefined) throw invalid(`${at}.maxInstances: only valid with match`);
    const intervalMs = t.intervalMs ?? defaultIntervalMs;
    claim(t.id, `${at}.id`);
    if (t.pid !== undefined) out.push({ kind: 'pid', id: t.id, intervalMs, pid: t.pid });
    else if (t.pidfile !== undefined) out.push({ kind: 'pidfile', id: t.id, intervalMs, pidfile: t.pidfile });
    else {
      let match: RegExp;
      try {
        match = new RegExp(t.match!);
      } catch (err) {
        throw invalid(`${at}.match: invalid regular expression: ${(err as Error).message}`);
      }
      const maxInstances = t.maxInstances ?? DEFAULT_MAX_INSTANCES;
      // Slot k ≥ 2 reports as `<id>.<k>`: those ids must be valid and free too.
      for (let k = 2; k <= maxInstances; k++) claim(`${t.id}.${k}`, `${at}.id (instance ${k} of maxInstances ${maxInstances})`);
      out.push({ kind: 'match', id: t.id, intervalMs, match, maxInstances });
    }
  });
  return out;
}

/** Checks a Redis URL the way the connection will read it. */
export function checkRedisUrl(url: string, field = 'redisUrl'): void {
  try {
    parseRedisUrl(url);
  } catch (err) {
    throw invalid(`${field}: ${(err as Error).message}`);
  }
}

export type LoadOptions = {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file; defaults to readFileSync(path, 'utf8'). */
  readFile?: (path: string) => string;
};

/** Reads flags, environment and the config file (flags win over env, env over the file). */
export function loadConfig(options: LoadOptions): CollectorConfig {
  const flags = parseFlags(options.argv);
  const env = options.env;
  const path = flags.config ?? nonEmpty(env.VIGIL_CONFIG);
  const file = path === undefined ? {} : readConfigFile(path, options.readFile);
  return mergeConfig(file, env, flags);
}

function readConfigFile(path: string, readFile = (p: string) => readFileSync(p, 'utf8')): Static<typeof FileSchema> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new VigilError(ErrorCodes.CONFIG_UNREADABLE, `config file "${path}": cannot read: ${e.code ?? e.message}`);
  }
  const value = parseJson(text);
  if (value === undefined) {
    let why = 'not valid JSON';
    try {
      JSON.parse(text);
    } catch (err) {
      why = `not valid JSON: ${(err as Error).message}`;
    }
    // docs/errors.md: CONFIG_UNREADABLE covers a file that "cannot be read or is not JSON".
    throw new VigilError(ErrorCodes.CONFIG_UNREADABLE, `config file "${path}": ${why}`);
  }
  const why = checkFile.explain(value);
  if (why) throw invalid(withFieldPath('', why));
  return value as Static<typeof FileSchema>;
}

function mergeConfig(file: Static<typeof FileSchema>, env: LoadOptions['env'], flags: Flags): CollectorConfig {
  const pick = (field: string, flag: string | undefined, flagName: string, envName: string, fromFile: string | undefined) => {
    if (flag !== undefined) return { value: flag, from: `--${flagName}` };
    const e = nonEmpty(env[envName]);
    if (e !== undefined) return { value: e, from: envName };
    return { value: fromFile, from: field };
  };
  const redis = pick('redisUrl', flags.redisUrl, 'redis-url', 'VIGIL_REDIS_URL', file.redisUrl);
  const redisUrl = redis.value ?? DEFAULT_REDIS_URL;
  checkRedisUrl(redisUrl, redis.from === 'redisUrl' ? 'redisUrl' : `redisUrl (${redis.from})`);
  const host = pick('host', flags.host, 'host', 'VIGIL_HOST', file.host).value ?? hostname();
  const collectorId = pick('collectorId', flags.collectorId, 'collector-id', 'VIGIL_COLLECTOR_ID', file.collectorId).value ?? host;
  if (collectorId.length > 255) throw invalid('collectorId: must be at most 255 characters');
  if (host.length > 255) throw invalid('host: must be at most 255 characters');

  const logLevel = nonEmpty(env.VIGIL_LOG_LEVEL) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw invalid(`VIGIL_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  if (flags.intervalMs !== undefined && (flags.intervalMs < 100 || flags.intervalMs > 3_600_000)) {
    throw invalid(`--interval: must be 100..3600000 ms, got ${flags.intervalMs}`);
  }
  const intervalMs = flags.intervalMs ?? file.defaults?.intervalMs ?? DEFAULT_INTERVAL_MS;
  const self = flags.self !== undefined ? { id: flags.self } : (file.self as SelfConfig | false | undefined) ?? false;
  const raw = [...(file.targets ?? []), ...flags.targets];
  // Resolving checks everything; the plain config keeps the user's shapes with intervals filled in.
  resolveTargets(raw, self, intervalMs);
  const targets = (raw as TargetConfig[]).map((t) => ({ ...t, intervalMs: t.intervalMs ?? intervalMs }));
  return {
    redisUrl,
    collectorId,
    host,
    historyMaxLen: file.defaults?.historyMaxLen ?? DEFAULT_HISTORY_MAX_LEN,
    self: self === false ? false : { ...self, intervalMs: self.intervalMs ?? intervalMs },
    targets,
    logLevel: logLevel as CollectorConfig['logLevel'],
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
