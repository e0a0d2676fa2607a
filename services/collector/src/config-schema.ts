// The collector's configuration as data: one TypeBox schema for the JSON file and for
// createCollector's options (each setting's rules written once), the types both resolve to, their
// defaults, and the error every check throws: a CONFIG_INVALID VigilError whose message starts
// with the exact field path, e.g. `targets[2].match: invalid regular expression`.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  ALERT_RULES_MAX,
  ErrorCodes,
  HOST_MAX_MOUNTS,
  HOST_MOUNT_PATH_MAX_LENGTH,
  HOST_NAME_FIELD_MAX_LENGTH,
  Interval,
  ServerId,
  VigilError,
  compile,
  type AlertRule,
} from '@vigil/protocol';
import { checkClusterTarget, parseRedisUrl, type RedisTls } from '@vigil/store';
import type { RateLimit } from './rate-limit.js';
import type { CommandSpec, RestartPolicy } from './supervisor.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_HISTORY_MAX_LEN = 720;
export const DEFAULT_MAX_INSTANCES = 16;
export const DEFAULT_LOG_HISTORY_MAX_LEN = 10_000;
export const DEFAULT_LOG_BUFFER_LINES = 50_000;
export const DEFAULT_LOG_BUFFER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LOG_POLL_MS = 250;
/** Loopback: outside Kubernetes, /metrics is for a local scraper only unless told otherwise. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** The port the collector serves /metrics on in Kubernetes when none is configured. */
export const DEFAULT_K8S_METRICS_PORT = 9464;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const Path = Type.String({ minLength: 1, maxLength: 4096 });
/** Alert rules (AlertRule of libs/protocol): each checked by its `kind` in alerts/rules.ts, for a message better than "Expected union value". */
const AlertRules = Type.Array(Type.Unknown(), { maxItems: ALERT_RULES_MAX });
const Ms = (maximum: number) => Type.Integer({ minimum: 0, maximum });

const RateLimitSchema = Type.Object(
  {
    linesPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);

const RestartSchema = Type.Object(
  {
    maxRestarts: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    backoffMs: Type.Optional(Ms(3_600_000)),
    maxBackoffMs: Type.Optional(Ms(86_400_000)),
    resetAfterMs: Type.Optional(Ms(86_400_000)),
  },
  { additionalProperties: false },
);

const RedactSchema = Type.Object(
  {
    patterns: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 64 })),
    logs: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('urls'), Type.Literal('none')])),
  },
  { additionalProperties: false },
);
/** `redact`: extra patterns for command lines, and how far log lines are redacted (redact.ts). */
export type RedactConfig = Static<typeof RedactSchema>;
export type LogRedaction = NonNullable<RedactConfig['logs']>;

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
    /** Fastest this target is sampled when a viewer asks for faster (default DEFAULT_MIN_INTERVAL_MS, at most intervalMs). */
    minIntervalMs: Type.Optional(Interval),
    logFiles: Type.Optional(Type.Array(Path, { maxItems: 64 })),
    logRateLimit: Type.Optional(RateLimitSchema),
    /** Alert rules of this target (libs/protocol alerts.ts); a rule with the id of a default replaces it. */
    alerts: Type.Optional(AlertRules),
  },
  { additionalProperties: false },
);

export const SelfSchema = Type.Object(
  { id: ServerId, intervalMs: Type.Optional(Interval), minIntervalMs: Type.Optional(Interval) },
  { additionalProperties: false },
);

/**
 * `hostMetrics`: the collector also samples its host (host-sampler.ts). Named apart from `host`,
 * which is the host's name.
 */
export const HostMetricsSchema = Type.Object(
  {
    /** Default true. */
    enabled: Type.Optional(Type.Boolean()),
    /** Default DEFAULT_HOST_INTERVAL_MS (5 s). */
    intervalMs: Type.Optional(Interval),
    /** Mount points whose usage is reported. Default ["/"]. */
    mounts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: HOST_MOUNT_PATH_MAX_LENGTH, pattern: '^/' }), { maxItems: HOST_MAX_MOUNTS })),
    /** Interfaces left out of the network figures. Default ["lo"]. */
    excludeInterfaces: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: HOST_NAME_FIELD_MAX_LENGTH }), { maxItems: 256 })),
  },
  { additionalProperties: false },
);
export type HostMetricsConfig = Static<typeof HostMetricsSchema>;
export const DEFAULT_HOST_MOUNTS: readonly string[] = ['/'];
export const DEFAULT_EXCLUDED_INTERFACES: readonly string[] = ['lo'];

// Each collector-wide setting once: the file and createCollector's options check the same rules.
const RedisUrl = Type.String({ minLength: 1, maxLength: 2048 });
/** `host:port,host:port,…`: a Redis Cluster's seed nodes (parseClusterNodes of @vigil/store checks the items). */
const RedisClusterNodes = Type.String({ minLength: 1, maxLength: 8192 });
const Name = Type.String({ minLength: 1, maxLength: 255 });
const StreamLength = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const LogBufferLines = Type.Integer({ minimum: 1, maximum: 10_000_000 });
const LogBufferBytes = Type.Integer({ minimum: 65_536, maximum: 4 * 1024 ** 3 });
const LogPollMs = Type.Integer({ minimum: 1, maximum: 60_000 });
const MetricsPort = Type.Integer({ minimum: 0, maximum: 65_535 });
const MetricsHost = Type.String({ minLength: 1, maxLength: 255 });

export const FileSchema = Type.Object(
  {
    redisUrl: Type.Optional(RedisUrl),
    redisClusterNodes: Type.Optional(RedisClusterNodes),
    collectorId: Type.Optional(Name),
    host: Type.Optional(Name),
    stateDir: Type.Optional(Path),
    logBufferLines: Type.Optional(LogBufferLines),
    logBufferBytes: Type.Optional(LogBufferBytes),
    redact: Type.Optional(RedactSchema),
    metricsPort: Type.Optional(MetricsPort),
    metricsHost: Type.Optional(MetricsHost),
    hostMetrics: Type.Optional(HostMetricsSchema),
    defaults: Type.Optional(
      Type.Object(
        {
          intervalMs: Type.Optional(Interval),
          minIntervalMs: Type.Optional(Interval),
          historyMaxLen: Type.Optional(StreamLength),
          logHistoryMaxLen: Type.Optional(StreamLength),
          logRateLimit: Type.Optional(RateLimitSchema),
          /** Alert rules of every target (and self). */
          alerts: Type.Optional(AlertRules),
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
  minIntervalMs?: number;
  logFiles?: string[];
  logRateLimit?: Partial<RateLimit>;
  alerts?: AlertRule[];
} & (
  | { pid: number }
  | { pidfile: string }
  | { match: string; maxInstances?: number }
  | { command: string | string[]; cwd?: string; env?: Record<string, string>; restart?: Partial<RestartPolicy>; stopGraceMs?: number }
);
export type SelfConfig = { id: string; intervalMs?: number; minIntervalMs?: number };

/** A checked target, selector resolved, ready to watch. Log settings are filled in by resolveTargets. */
export type Target = {
  id: string;
  /** Sampled at this interval unless a viewer asks for faster. */
  intervalMs: number;
  /** Never sampled faster than this for a viewer (at most intervalMs); resolveTargets sets it. Absent: viewers' asks are not taken. */
  minIntervalMs?: number;
  logFiles?: string[]; logRateLimit?: RateLimit } & (
  | { kind: 'pid'; pid: number }
  | { kind: 'pidfile'; pidfile: string }
  | { kind: 'match'; match: RegExp; maxInstances: number; /** Why the pattern must not run (regex-safety.ts): the target is disabled. */ refused?: string }
  | { kind: 'self' }
  | ({ kind: 'command' } & CommandSpec)
);

export type FileConfig = Static<typeof FileSchema>;

/** createCollector's settings (targets, self and injected dependencies are checked elsewhere). */
export const OptionsSchema = Type.Object(
  {
    redisUrl: RedisUrl,
    redisClusterNodes: Type.Optional(RedisClusterNodes),
    collectorId: Name,
    host: Name,
    historyMaxLen: Type.Optional(StreamLength),
    logHistoryMaxLen: Type.Optional(StreamLength),
    logBufferLines: Type.Optional(LogBufferLines),
    logBufferBytes: Type.Optional(LogBufferBytes),
    logRateLimit: Type.Optional(RateLimitSchema),
    stateDir: Type.Optional(Path),
    logPollMs: Type.Optional(LogPollMs),
    redact: Type.Optional(RedactSchema),
    metricsPort: Type.Optional(MetricsPort),
    metricsHost: Type.Optional(MetricsHost),
    alertDefaults: Type.Optional(AlertRules),
    hostMetrics: Type.Optional(HostMetricsSchema),
  },
  { additionalProperties: false },
);

export type CollectorConfig = {
  redisUrl: string;
  /** A Redis Cluster's seed nodes; absent: one Redis at `redisUrl`. */
  redisClusterNodes?: string;
  /** From VIGIL_REDIS_TLS_CA_FILE / _CERT_FILE / _KEY_FILE, read and checked at load. */
  redisTls?: RedisTls;
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
  redact?: RedactConfig;
  /** Undefined: no HTTP endpoint. */
  metricsPort?: number;
  metricsHost: string;
  /** Host sampling as the file set it (defaults applied by createCollector). */
  hostMetrics?: HostMetricsConfig;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `defaults.alerts`: rules of every target. */
  alertDefaults?: AlertRule[];
};

export function invalid(message: string): VigilError {
  return new VigilError(ErrorCodes.CONFIG_INVALID, message);
}

/** `/targets/2/match: …` (TypeBox's JSON pointer) → `targets[2].match: …`. */
export function withFieldPath(prefix: string, explained: string): string {
  const m = /^(\/\S*|payload): ([\s\S]*)$/.exec(explained);
  if (!m) return `${prefix || 'config'}: ${explained}`;
  let path = prefix;
  for (const part of m[1] === 'payload' ? [] : m[1]!.split('/').slice(1)) {
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return `${path || 'config'}: ${m[2]}`;
}

const checkOptions = compile(OptionsSchema);

/** Checks createCollector's settings by the rules of the file; the error names the option. */
export function checkSettings(options: Record<string, unknown>): void {
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(OptionsSchema.properties)) if (options[key] !== undefined) settings[key] = options[key];
  const why = checkOptions.explain(settings);
  if (why) throw invalid(withFieldPath('', why));
  checkRedisUrl(settings.redisUrl as string);
  if (settings.redisClusterNodes !== undefined) checkRedisClusterNodes(settings.redisUrl as string, settings.redisClusterNodes as string);
}

/** Checks a Redis Cluster's seed list (and that the URL names database 0); VIGIL_ERR_REDIS_CLUSTER_NODES_INVALID naming the field. */
export function checkRedisClusterNodes(url: string, nodes: string, field = 'redisClusterNodes'): void {
  try {
    checkClusterTarget(url, nodes);
  } catch (err) {
    if (err instanceof VigilError && err.code === ErrorCodes.REDIS_CLUSTER_NODES_INVALID) throw new VigilError(err.code, `${field}: ${err.message}`);
    throw err;
  }
}

/** Checks a Redis URL the way the connection will read it. */
export function checkRedisUrl(url: string, field = 'redisUrl'): void {
  try {
    parseRedisUrl(url);
  } catch (err) {
    throw invalid(`${field}: ${(err as Error).message}`);
  }
}

/** Where a collector remembers log positions unless told otherwise. */
export function defaultStateDir(collectorId: string): string {
  return join(tmpdir(), `vigil-collector-${collectorId.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}
