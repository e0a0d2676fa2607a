// Command-line flags of vigil-collector, parsed into overrides of the config file. Values are
// checked for shape here (`<id>=<pid>`); what they mean is checked with the rest of the config.
import { parseArgs } from 'node:util';
import { DEFAULT_INTERVAL_MS, INTERVAL_MAX_MS, INTERVAL_MIN_MS } from '@vigil/protocol';
import { REDIS_TLS_ENV } from '@vigil/store';
import { DEFAULT_K8S_METRICS_PORT, DEFAULT_METRICS_HOST, invalid } from './config-schema.js';

export type Flags = {
  help: boolean;
  version: boolean;
  config?: string;
  redisUrl?: string;
  /** `host:port,…` of a Redis Cluster's seed nodes. */
  redisClusterNodes?: string;
  collectorId?: string;
  host?: string;
  self?: string;
  intervalMs?: number;
  /** A port number or `off` (checked with the rest of the config). */
  metricsPort?: string;
  metricsHost?: string;
  /** Targets named on the command line, in file shape, appended to the file's. */
  targets: Array<Record<string, unknown>>;
  /** `--no-host-metrics`: the host is not sampled (a sidecar: the node's own collector samples it). */
  noHostMetrics: boolean;
  /** `--log-file <id>=<path>`: [target id, path], added to that target's logFiles. */
  logFiles: Array<[string, string]>;
};

export const USAGE = `usage: vigil-collector [options]
  --config <path>          JSON config file (env VIGIL_CONFIG)
  --redis-url <url>        redis:// or rediss:// URL (env VIGIL_REDIS_URL, else REDIS_URL)
  --redis-cluster-nodes <host:port,...>
                           run on a Redis Cluster from these seed nodes (env VIGIL_REDIS_CLUSTER_NODES);
                           the URL then gives only credentials and scheme (rediss:// for TLS)
  --collector-id <id>      this agent's id (env VIGIL_COLLECTOR_ID; default: host)
  --host <name>            host name reported (env VIGIL_HOST; default: os.hostname())
  --pid <id>=<pid>         watch a process by pid (repeatable)
  --pidfile <id>=<path>    watch the process named by a pidfile (repeatable)
  --match <id>=<regex>     watch every process whose command line matches (repeatable)
  --command <id>=<cmdline> start, supervise and watch a command, capturing its output (repeatable)
  --log-file <id>=<path>   follow a log file as logs of target <id> (repeatable)
  --self <id>              watch the agent itself as server <id>
  --no-host-metrics        do not sample the host (a sidecar; the node's collector does it)
  --interval <ms>          default sampling interval of targets (${INTERVAL_MIN_MS}..${INTERVAL_MAX_MS}, default ${DEFAULT_INTERVAL_MS})
  --metrics-port <port>    serve /metrics, /healthz, /readyz on this port, or "off" (env VIGIL_METRICS_PORT;
                           default: off, ${DEFAULT_K8S_METRICS_PORT} in Kubernetes)
  --metrics-host <addr>    address the metrics port binds to (env VIGIL_METRICS_HOST;
                           default: ${DEFAULT_METRICS_HOST}, 0.0.0.0 in Kubernetes)
  -h, --help               print this help
  -v, --version            print the version
env VIGIL_LOG_LEVEL (else LOG_LEVEL): trace, debug, info (default), warn, error, fatal, silent
env ${REDIS_TLS_ENV.caFile}, ${REDIS_TLS_ENV.certFile}, ${REDIS_TLS_ENV.keyFile}: PEM files for a rediss:// URL
docs: docs/collector.md`;

function splitPair(flag: string, value: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) throw invalid(`--${flag}: expected <id>=<value>, got "${value}"`);
  return [value.slice(0, at), value.slice(at + 1)];
}

function integer(flag: string, text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw invalid(`--${flag}: expected a positive integer, got "${text}"`);
  return Number(text);
}

export function parseFlags(argv: readonly string[]): Flags {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw invalid(`command line: ${(err as Error).message}`);
  }
  const targets: Flags['targets'] = [];
  for (const v of values.pid ?? []) {
    const [id, pid] = splitPair('pid', v);
    targets.push({ id, pid: integer('pid', pid) });
  }
  for (const v of values.pidfile ?? []) {
    const [id, pidfile] = splitPair('pidfile', v);
    targets.push({ id, pidfile });
  }
  for (const v of values.match ?? []) {
    const [id, match] = splitPair('match', v);
    targets.push({ id, match });
  }
  for (const v of values.command ?? []) {
    const [id, command] = splitPair('command', v);
    targets.push({ id, command });
  }
  const logFiles = (values['log-file'] ?? []).map((v) => splitPair('log-file', v));
  return {
    help: values.help ?? false,
    version: values.version ?? false,
    metricsPort: values['metrics-port'],
    metricsHost: values['metrics-host'],
    config: values.config,
    redisUrl: values['redis-url'],
    redisClusterNodes: values['redis-cluster-nodes'],
    collectorId: values['collector-id'],
    host: values.host,
    self: values.self,
    intervalMs: values.interval === undefined ? undefined : integer('interval', values.interval),
    noHostMetrics: values['no-host-metrics'] ?? false,
    targets,
    logFiles,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-cluster-nodes': { type: 'string' },
      'collector-id': { type: 'string' },
      host: { type: 'string' },
      pid: { type: 'string', multiple: true },
      pidfile: { type: 'string', multiple: true },
      match: { type: 'string', multiple: true },
      command: { type: 'string', multiple: true },
      'log-file': { type: 'string', multiple: true },
      self: { type: 'string' },
      interval: { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      'no-host-metrics': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}
