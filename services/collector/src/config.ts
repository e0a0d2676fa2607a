// The collector's configuration as loaded: the JSON file read and checked against its schema
// (config-schema.ts), then merged with environment and command-line flags (flags win over env,
// env over the file), targets checked by resolving them (targets.ts).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DEFAULT_INTERVAL_MS, ErrorCodes, INTERVAL_MAX_MS, INTERVAL_MIN_MS, VigilError, compile, parseJson, readEnv } from '@vigil/protocol';
import { redisTlsFromEnv } from '@vigil/store';
import {
  DEFAULT_HISTORY_MAX_LEN,
  DEFAULT_LOG_BUFFER_BYTES,
  DEFAULT_LOG_BUFFER_LINES,
  DEFAULT_LOG_HISTORY_MAX_LEN,
  DEFAULT_K8S_METRICS_PORT,
  DEFAULT_METRICS_HOST,
  DEFAULT_REDIS_URL,
  FileSchema,
  LOG_LEVELS,
  checkRedisUrl,
  checkRedisClusterNodes,
  checkSettings,
  invalid,
  withFieldPath,
  type CollectorConfig,
  type FileConfig,
  type SelfConfig,
  type TargetConfig,
} from './config-schema.js';
import { parseFlags, type Flags } from './flags.js';
import { jsonErrorOffset, lineAndColumn } from './json-offset.js';
import { DEFAULT_LOG_RATE_LIMIT } from './rate-limit.js';
import { Redactor } from './redact.js';
import { resolveTargets } from './targets.js';
import { ruleTable } from './alerts/rule-table.js';
import type { AlertRule } from '@vigil/protocol';

const checkFile = compile(FileSchema);

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

function readConfigFile(path: string, readFile = (p: string) => readFileSync(p, 'utf8')): FileConfig {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new VigilError(ErrorCodes.CONFIG_UNREADABLE, `config file "${path}": cannot read: ${e.code ?? e.message}`);
  }
  const value = parseJson(text);
  if (value === undefined) {
    // docs/errors.md: CONFIG_UNREADABLE covers a file that "cannot be read or is not JSON". The
    // message says where, never what: the text may hold a password.
    throw new VigilError(ErrorCodes.CONFIG_UNREADABLE, `config file "${path}": not valid JSON${whereInvalid(text)}`);
  }
  const why = checkFile.explain(value);
  if (why) throw invalid(withFieldPath('', why));
  return value as FileConfig;
}

function mergeConfig(file: FileConfig, env: LoadOptions['env'], flags: Flags): CollectorConfig {
  // The VIGIL_ variable, else the generic one it falls back to (REDIS_URL; readEnv of @vigil/protocol).
  const pick = (field: string, flag: string | undefined, flagName: string, envName: `VIGIL_${string}`, fromFile: string | undefined) => {
    if (flag !== undefined) return { value: flag, from: `--${flagName}` };
    const e = readEnv(env, envName);
    if (e !== undefined) return { value: e.value, from: e.name };
    return { value: fromFile, from: field };
  };
  const redis = pick('redisUrl', flags.redisUrl, 'redis-url', 'VIGIL_REDIS_URL', file.redisUrl);
  const redisUrl = redis.value ?? DEFAULT_REDIS_URL;
  checkRedisUrl(redisUrl, redis.from === 'redisUrl' ? 'redisUrl' : `redisUrl (${redis.from})`);
  const cluster = pick('redisClusterNodes', flags.redisClusterNodes, 'redis-cluster-nodes', 'VIGIL_REDIS_CLUSTER_NODES', file.redisClusterNodes);
  if (cluster.value !== undefined) {
    checkRedisClusterNodes(redisUrl, cluster.value, cluster.from === 'redisClusterNodes' ? 'redisClusterNodes' : `redisClusterNodes (${cluster.from})`);
  }
  const redisTls = redisTlsFromEnv(env);
  const host = pick('host', flags.host, 'host', 'VIGIL_HOST', file.host).value ?? hostname();
  const collectorId = pick('collectorId', flags.collectorId, 'collector-id', 'VIGIL_COLLECTOR_ID', file.collectorId).value ?? host;

  // The kubelet sets KUBERNETES_SERVICE_HOST in every pod: there, probes need the port, on the pod IP.
  const inKubernetes = nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined;
  const port = pick('metricsPort', flags.metricsPort, 'metrics-port', 'VIGIL_METRICS_PORT', file.metricsPort?.toString());
  const metricsPort = port.value === undefined ? (inKubernetes ? DEFAULT_K8S_METRICS_PORT : undefined) : metricsPortOf(port.value, port.from);
  const metricsHost =
    pick('metricsHost', flags.metricsHost, 'metrics-host', 'VIGIL_METRICS_HOST', file.metricsHost).value ?? (inKubernetes ? '0.0.0.0' : DEFAULT_METRICS_HOST);

  const level = readEnv(env, 'VIGIL_LOG_LEVEL');
  const logLevel = level?.value ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw invalid(`${level?.name}: must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  if (flags.intervalMs !== undefined && (flags.intervalMs < INTERVAL_MIN_MS || flags.intervalMs > INTERVAL_MAX_MS)) {
    throw invalid(`--interval: must be ${INTERVAL_MIN_MS}..${INTERVAL_MAX_MS} ms, got ${flags.intervalMs}`);
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
  const minIntervalMs = file.defaults?.minIntervalMs;
  const resolved = resolveTargets(raw, self, intervalMs, logRateLimit, minIntervalMs);
  // Alert rules are checked by kind (alerts/rules.ts), as createCollector checks them.
  ruleTable(resolved, raw as TargetConfig[], file.defaults?.alerts ?? [], 'defaults.alerts');
  // The default minimum is capped at each target's own interval, as resolveTargets does.
  const withMin = <T extends { intervalMs: number; minIntervalMs?: number }>(t: T): T =>
    minIntervalMs === undefined || t.minIntervalMs !== undefined ? t : { ...t, minIntervalMs: Math.min(minIntervalMs, t.intervalMs) };
  const targets = (raw as TargetConfig[]).map((t) => withMin({ ...t, intervalMs: t.intervalMs ?? intervalMs }));
  const config: CollectorConfig = {
    redisUrl,
    collectorId,
    host,
    historyMaxLen: file.defaults?.historyMaxLen ?? DEFAULT_HISTORY_MAX_LEN,
    logHistoryMaxLen: file.defaults?.logHistoryMaxLen ?? DEFAULT_LOG_HISTORY_MAX_LEN,
    logBufferLines: file.logBufferLines ?? DEFAULT_LOG_BUFFER_LINES,
    logBufferBytes: file.logBufferBytes ?? DEFAULT_LOG_BUFFER_BYTES,
    logRateLimit,
    self: self === false ? false : withMin({ ...self, intervalMs: self.intervalMs ?? intervalMs }),
    targets,
    metricsHost,
    logLevel: logLevel as CollectorConfig['logLevel'],
  };
  if (redisTls !== undefined) config.redisTls = redisTls;
  if (cluster.value !== undefined) config.redisClusterNodes = cluster.value;
  if (metricsPort !== undefined) config.metricsPort = metricsPort;
  if (file.stateDir !== undefined) config.stateDir = file.stateDir;
  if (file.defaults?.alerts !== undefined) config.alertDefaults = file.defaults.alerts as AlertRule[];
  if (file.hostMetrics !== undefined) config.hostMetrics = file.hostMetrics;
  // The flag wins over the file: off, whatever else the file says of host metrics.
  if (flags.noHostMetrics) config.hostMetrics = { ...config.hostMetrics, enabled: false };
  if (file.redact !== undefined) {
    Redactor.fromConfig(file.redact);
    config.redact = file.redact;
  }
  // Values from flags and env by the file's rules (lengths, ranges): createCollector's own check.
  checkSettings(config);
  return config;
}

/** A port number, or undefined for `off`. */
function metricsPortOf(text: string, from: string): number | undefined {
  if (text === 'off') return undefined;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n <= 65_535)) throw invalid(`${from === 'metricsPort' ? 'metricsPort' : `metricsPort (${from})`}: expected a port 0..65535 or "off", got "${text.slice(0, 40)}"`);
  return n;
}

function whereInvalid(text: string): string {
  const at = jsonErrorOffset(text);
  if (at < 0) return '';
  if (at >= text.length) return ' (it ends before the value is complete)';
  const { line, column } = lineAndColumn(text, at);
  return ` at line ${line}, column ${column}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
