// The collector's configuration: one TypeBox schema for the JSON file, the checks a schema cannot
// express (one selector per target, unique server ids, regexes that compile, commands that split,
// a usable Redis URL), and the merge of file, environment and command-line flags. Every error is a VigilError whose
// message starts with the exact field path, e.g. `targets[2].match: invalid regular expression`.
import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_INTERVAL_MS, ErrorCodes, SERVER_ID_PATTERN, ServerId, VigilError, compile, parseJson } from '@vigil/protocol';
import { parseRedisUrl } from '@vigil/store';
import { parseFlags, type Flags } from './flags.js';
import { DEFAULT_LOG_RATE_LIMIT, type RateLimit } from './rate-limit.js';
import { splitWords } from './shell-words.js';
import { DEFAULT_RESTART, DEFAULT_STOP_GRACE_MS, type CommandSpec, type RestartPolicy } from './supervisor.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_HISTORY_MAX_LEN = 720;
export const DEFAULT_MAX_INSTANCES = 16;
export const DEFAULT_LOG_HISTORY_MAX_LEN = 10_000;
export const DEFAULT_LOG_BUFFER_LINES = 50_000;
export const DEFAULT_LOG_BUFFER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LOG_POLL_MS = 250;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const Interval = Type.Integer({ minimum: 100, maximum: 3_600_000 });
const Path = Type.String({ minLength: 1, maxLength: 4096 });
const Ms = (maximum: number) => Type.Integer({ minimum: 0, maximum });

export const RateLimitSchema = Type.Object(
  {
    linesPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);

export const RestartSchema = Type.Object(
  {
    maxRestarts: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    backoffMs: Type.Optional(Ms(3_600_000)),
    maxBackoffMs: Type.Optional(Ms(86_400_000)),
    resetAfterMs: Type.Optional(Ms(86_400_000)),
  },
  { additionalProperties: false },
);

export const TargetSchema = Type.Object(
  {
    id: ServerId,
    pid: Type.Optional(Type.Integer({ minimum: 1, maximum: 4_194_304 })),
    pidfile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    match: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    maxInstances: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    // A string or an argv array: checked by hand for a message better than "Expected union value".
    command: Type.Optional(Type.Unknown()),
    cwd: Type.Optional(Path),
    env: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.String({ maxLength: 65_536 }))),
    restart: Type.Optional(RestartSchema),
    stopGraceMs: Type.Optional(Ms(60_000)),
    intervalMs: Type.Optional(Interval),
    logFiles: Type.Optional(Type.Array(Path, { maxItems: 64 })),
    logRateLimit: Type.Optional(RateLimitSchema),
  },
  { additionalProperties: false },
);

export const SelfSchema = Type.Object({ id: ServerId, intervalMs: Type.Optional(Interval) }, { additionalProperties: false });

const FileSchema = Type.Object(
  {
    redisUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    collectorId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    stateDir: Type.Optional(Path),
    logBufferLines: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    logBufferBytes: Type.Optional(Type.Integer({ minimum: 65_536, maximum: 4 * 1024 ** 3 })),
    defaults: Type.Optional(
      Type.Object(
        {
          intervalMs: Type.Optional(Interval),
          historyMaxLen: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          logHistoryMaxLen: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          logRateLimit: Type.Optional(RateLimitSchema),
        },
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
export type TargetConfig = {
  id: string;
  intervalMs?: number;
  logFiles?: string[];
  logRateLimit?: Partial<RateLimit>;
} & (
  | { pid: number }
  | { pidfile: string }
  | { match: string; maxInstances?: number }
  | { command: string | string[]; cwd?: string; env?: Record<string, string>; restart?: Partial<RestartPolicy>; stopGraceMs?: number }
);
export type SelfConfig = { id: string; intervalMs?: number };

/** A checked target, selector resolved, ready to watch. Log settings are filled in by resolveTargets. */
export type Target = { id: string; intervalMs: number; logFiles?: string[]; logRateLimit?: RateLimit } & (
  | { kind: 'pid'; pid: number }
  | { kind: 'pidfile'; pidfile: string }
  | { kind: 'match'; match: RegExp; maxInstances: number }
  | { kind: 'self' }
  | ({ kind: 'command' } & CommandSpec)
);

export type CollectorConfig = {
  redisUrl: string;
  collectorId: string;
  host: string;
  historyMaxLen: number;
  logHistoryMaxLen: number;
  logBufferLines: number;
  logBufferBytes: number;
  logRateLimit: RateLimit;
  /** Undefined: `${os.tmpdir()}/vigil-collector-<collectorId>`. */
  stateDir?: string;
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
export function resolveTargets(
  targets: readonly unknown[],
  self: unknown,
  defaultIntervalMs = DEFAULT_INTERVAL_MS,
  defaultRateLimit: RateLimit = DEFAULT_LOG_RATE_LIMIT,
): Target[] {
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
    const selectors = (['pid', 'pidfile', 'match', 'command'] as const).filter((k) => t[k] !== undefined);
    if (selectors.length !== 1) {
      const got = selectors.length === 0 ? 'none' : selectors.join(' and ');
      throw invalid(`${at}: exactly one of pid, pidfile, match, command is required, got ${got}`);
    }
    if (t.maxInstances !== undefined && t.match === undefined) throw invalid(`${at}.maxInstances: only valid with match`);
    for (const k of ['cwd', 'env', 'restart', 'stopGraceMs'] as const) {
      if (t[k] !== undefined && t.command === undefined) throw invalid(`${at}.${k}: only valid with command`);
    }
    const base = {
      id: t.id,
      intervalMs: t.intervalMs ?? defaultIntervalMs,
      logFiles: logFiles(t.logFiles ?? [], t.cwd, at),
      logRateLimit: { ...defaultRateLimit, ...t.logRateLimit },
    };
    claim(t.id, `${at}.id`);
    if (t.pid !== undefined) out.push({ ...base, kind: 'pid', pid: t.pid });
    else if (t.pidfile !== undefined) out.push({ ...base, kind: 'pidfile', pidfile: t.pidfile });
    else if (t.command !== undefined) out.push({ ...base, kind: 'command', ...commandSpec(t, at) });
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
      out.push({ ...base, kind: 'match', match, maxInstances });
    }
  });
  return out;
}

function commandSpec(t: Static<typeof TargetSchema>, at: string): CommandSpec {
  let argv: string[];
  if (typeof t.command === 'string') {
    try {
      argv = splitWords(t.command);
    } catch (err) {
      throw invalid(`${at}.command: ${(err as Error).message}`);
    }
  } else if (Array.isArray(t.command) && t.command.every((a) => typeof a === 'string' && a.length <= 65_536)) {
    argv = t.command as string[];
  } else {
    throw invalid(`${at}.command: expected a string or an array of strings`);
  }
  if (argv.length === 0 || argv[0] === '') throw invalid(`${at}.command: names no program`);
  if (argv.length > 4096) throw invalid(`${at}.command: more than 4096 arguments`);
  const restart = { ...DEFAULT_RESTART, ...t.restart };
  if (restart.maxBackoffMs < restart.backoffMs) throw invalid(`${at}.restart.maxBackoffMs: must be at least backoffMs (${restart.backoffMs})`);
  const spec: CommandSpec = { argv, restart, stopGraceMs: t.stopGraceMs ?? DEFAULT_STOP_GRACE_MS };
  if (t.cwd !== undefined) spec.cwd = t.cwd;
  if (t.env !== undefined) spec.env = t.env;
  return spec;
}

/** Log file paths, absolute (a relative one is taken from the command's cwd, else the agent's). */
function logFiles(paths: readonly string[], cwd: string | undefined, at: string): string[] {
  const out: string[] = [];
  paths.forEach((p, i) => {
    const abs = resolve(cwd ?? '.', p);
    if (out.includes(abs)) throw invalid(`${at}.logFiles[${i}]: "${p}" is listed twice`);
    out.push(abs);
  });
  return out;
}

/** Where a collector remembers log positions unless told otherwise. */
export function defaultStateDir(collectorId: string): string {
  return join(tmpdir(), `vigil-collector-${collectorId.replace(/[^A-Za-z0-9._-]/g, '_')}`);
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
  const raw = [...(file.targets ?? []), ...flags.targets] as Array<Record<string, unknown>>;
  for (const [id, path] of flags.logFiles) {
    const i = raw.findIndex((t) => t !== null && typeof t === 'object' && t.id === id);
    if (i < 0) throw invalid(`--log-file: no target with id "${id}"`);
    const t = raw[i]!;
    raw[i] = { ...t, logFiles: [...(Array.isArray(t.logFiles) ? t.logFiles : []), path] };
  }
  const logRateLimit = { ...DEFAULT_LOG_RATE_LIMIT, ...file.defaults?.logRateLimit };
  // Resolving checks everything; the plain config keeps the user's shapes with intervals filled in.
  resolveTargets(raw, self, intervalMs, logRateLimit);
  const targets = (raw as TargetConfig[]).map((t) => ({ ...t, intervalMs: t.intervalMs ?? intervalMs }));
  const config: CollectorConfig = {
    redisUrl,
    collectorId,
    host,
    historyMaxLen: file.defaults?.historyMaxLen ?? DEFAULT_HISTORY_MAX_LEN,
    logHistoryMaxLen: file.defaults?.logHistoryMaxLen ?? DEFAULT_LOG_HISTORY_MAX_LEN,
    logBufferLines: file.logBufferLines ?? DEFAULT_LOG_BUFFER_LINES,
    logBufferBytes: file.logBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES,
    logRateLimit,
    self: self === false ? false : { ...self, intervalMs: self.intervalMs ?? intervalMs },
    targets,
    logLevel: logLevel as CollectorConfig['logLevel'],
  };
  if (file.stateDir !== undefined) config.stateDir = file.stateDir;
  return config;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
