// Config errors name their code and the exact field; merge order is flags > env > file > defaults.
import t, { type Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, GENERIC_ENV, VigilError } from '@vigil/protocol';
import { createCollector, loadConfig } from '../src/index.js';
import { sinkLogger } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-collector-config-'));
let n = 0;
function file(content: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function load(argv: string[], env: Record<string, string> = {}) {
  return loadConfig({ argv, env });
}

function fails(t: Test, fn: () => unknown, code: string, message: RegExp, what: string) {
  try {
    fn();
  } catch (err) {
    t.ok(err instanceof VigilError, `${what}: a VigilError`);
    t.equal((err as VigilError).code, code, `${what}: code`);
    t.match((err as Error).message, message, `${what}: message`);
    return;
  }
  t.fail(`${what}: did not throw`);
}

t.test('a valid file with defaults applied', async (t) => {
  const path = file({
    redisUrl: 'redis://127.0.0.1:6390/2',
    collectorId: 'host-a',
    host: 'host-a',
    defaults: { intervalMs: 2000, historyMaxLen: 100 },
    self: { id: 'collector-host-a', intervalMs: 5000 },
    targets: [
      { id: 'api', pid: 1234, intervalMs: 1000 },
      { id: 'worker', pidfile: '/run/worker.pid' },
      { id: 'node-web', match: 'node .*web\\.js', maxInstances: 4 },
    ],
  });
  const c = load(['--config', path]);
  t.equal(c.redisUrl, 'redis://127.0.0.1:6390/2');
  t.equal(c.historyMaxLen, 100);
  t.same(c.self, { id: 'collector-host-a', intervalMs: 5000 });
  t.same(
    c.targets.map((x) => x.intervalMs),
    [1000, 2000, 2000],
    'targets without an interval take defaults.intervalMs',
  );
  t.equal(c.logLevel, 'info');
});

t.test('defaults without a file: interval 5000, self off, history 720', async (t) => {
  const c = load(['--pid', 'api=42']);
  t.same(c.targets, [{ id: 'api', pid: 42, intervalMs: 5000 }]);
  t.equal(c.self, false);
  t.equal(c.historyMaxLen, 720);
  t.equal(c.redisUrl, 'redis://127.0.0.1:6379');
});

t.test('flags win over env, env over the file', async (t) => {
  const path = file({ redisUrl: 'redis://file:1', collectorId: 'file', host: 'file', targets: [{ id: 'a', pid: 1 }] });
  const env = { VIGIL_REDIS_URL: 'redis://env:2', VIGIL_COLLECTOR_ID: 'env', VIGIL_HOST: 'env', VIGIL_CONFIG: path, VIGIL_LOG_LEVEL: 'warn' };
  const fromEnv = load([], env);
  t.same([fromEnv.redisUrl, fromEnv.collectorId, fromEnv.host, fromEnv.logLevel], ['redis://env:2', 'env', 'env', 'warn']);
  const fromFlags = load(
    ['--redis-url', 'redis://flag:3', '--collector-id', 'flag', '--self', 'me', '--interval', '250', '--pidfile', 'w=/run/w.pid', '--match', 'm=a=b'],
    env,
  );
  t.same([fromFlags.redisUrl, fromFlags.collectorId], ['redis://flag:3', 'flag']);
  t.same(fromFlags.self, { id: 'me', intervalMs: 250 });
  t.same(fromFlags.targets, [
    { id: 'a', pid: 1, intervalMs: 250 },
    { id: 'w', pidfile: '/run/w.pid', intervalMs: 250 },
    { id: 'm', match: 'a=b', intervalMs: 250 },
  ]);
});

t.test('a VIGIL_ variable wins over its generic fallback, which is read when it is unset', async (t) => {
  // Each pair the collector reads: [VIGIL_ name, its value, generic value, what the config says].
  const pairs: Record<string, [string, string, (c: ReturnType<typeof load>) => string]> = {
    VIGIL_REDIS_URL: ['redis://vigil:1', 'redis://generic:2', (c) => c.redisUrl],
    VIGIL_LOG_LEVEL: ['warn', 'debug', (c) => c.logLevel],
  };
  for (const [name, [vigil, generic, read]] of Object.entries(pairs)) {
    const fallback = GENERIC_ENV[name as keyof typeof GENERIC_ENV];
    t.equal(read(load(['--pid', 'a=1'], { [fallback]: generic, [name]: vigil })), vigil, `${name} wins over ${fallback}`);
    t.equal(read(load(['--pid', 'a=1'], { [fallback]: generic })), generic, `${fallback} alone is read`);
    t.equal(read(load(['--pid', 'a=1'], { [name]: '', [fallback]: generic })), generic, `an empty ${name} is unset`);
  }
  t.equal(load(['--pid', 'a=1', '--redis-url', 'redis://flag:3'], { REDIS_URL: 'redis://generic:2' }).redisUrl, 'redis://flag:3', 'a flag wins over both');
  fails(t, () => load(['--pid', 'a=1'], { LOG_LEVEL: 'loud' }), ErrorCodes.CONFIG_INVALID, /^LOG_LEVEL: must be one of/, 'a bad LOG_LEVEL names LOG_LEVEL');
  // HOST and PORT mean the bind address and port of a server: not the collector's reported host
  // name (VIGIL_HOST) nor its metrics port (VIGIL_METRICS_PORT).
  const c = load(['--pid', 'a=1'], { HOST: '0.0.0.0', PORT: '8080' });
  t.not(c.host, '0.0.0.0', 'HOST is not the reported host name');
  t.equal(c.metricsPort, undefined, 'PORT opens no metrics port');
});

t.test('errors: code and exact field path', async (t) => {
  fails(t, () => load(['--config', join(dir, 'missing.json')]), ErrorCodes.CONFIG_UNREADABLE, /missing\.json.*ENOENT/, 'missing file');
  fails(t, () => load([], { VIGIL_CONFIG: dir }), ErrorCodes.CONFIG_UNREADABLE, /EISDIR/, 'a directory');
  fails(t, () => load(['--config', file('{"targets": [')]), ErrorCodes.CONFIG_UNREADABLE, /not valid JSON/, 'bad JSON');
  fails(t, () => load(['--config', file('[]')]), ErrorCodes.CONFIG_INVALID, /^config: Expected object/, 'not an object');
  fails(t, () => load(['--config', file({ targets: [{ id: 'a', pid: 'x' }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.pid: Expected integer/, 'wrong type');
  fails(t, () => load(['--config', file({ targets: [{ id: 'a', pid: 1, intervalMs: 50 }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.intervalMs: /, 'interval too short');
  fails(t, () => load(['--config', file({ defaults: { intervalMs: 'fast' } })]), ErrorCodes.CONFIG_INVALID, /^defaults\.intervalMs: /, 'nested wrong type');
  fails(t, () => load(['--config', file({ targets: [{ id: 'a', pid: 1, extra: true }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.extra: /, 'unknown property');
  fails(t, () => load(['--config', file({ targets: [{ pid: 1 }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.id: /, 'missing id');
  fails(t, () => load(['--config', file({ targets: [{ id: 'bad id', pid: 1 }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.id: /, 'bad id');
  fails(t, () => load(['--config', file({ self: { id: 'me', intervalMs: 'x' } })]), ErrorCodes.CONFIG_INVALID, /^self\.intervalMs: /, 'bad self');
  fails(t, () => load(['--config', file({ self: true })]), ErrorCodes.CONFIG_INVALID, /^self: /, 'self neither false nor object');
  fails(
    t,
    () => load(['--config', file({ targets: [{ id: 'a', pid: 1 }, { id: 'b', pid: 2 }, { id: 'a', pidfile: '/x' }] })]),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[2\]\.id: duplicate server id "a" \(also targets\[0\]\.id\)/,
    'duplicate ids',
  );
  fails(
    t,
    () => load(['--config', file({ targets: [{ id: 'web', match: 'x' }, { id: 'web.2', pid: 2 }] })]),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[1\]\.id: duplicate server id "web\.2"/,
    'an id taken by another target\'s instance slot',
  );
  fails(
    t,
    () => load(['--config', file({ self: { id: 'a' }, targets: [{ id: 'a', pid: 1 }] })]),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[0\]\.id: duplicate server id "a" \(also self\.id\)/,
    'target id equal to self id',
  );
  fails(
    t,
    () => load(['--config', file({ targets: [{ id: 'a', pid: 1, pidfile: '/run/a.pid' }] })]),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[0\]: exactly one of pid, pidfile, match, command is required, got pid and pidfile/,
    'two selectors',
  );
  fails(t, () => load(['--config', file({ targets: [{ id: 'a' }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]: .*got none/, 'no selector');
  fails(
    t,
    () => load(['--config', file({ targets: [{ id: 'a', pid: 1 }, { id: 'b', pid: 2 }, { id: 'c', match: 'node (web' }] })]),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[2\]\.match: invalid regular expression: .*Unterminated group/,
    'bad regex',
  );
  fails(t, () => load(['--config', file({ targets: [{ id: 'a', pid: 1, maxInstances: 2 }] })]), ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.maxInstances: only valid with match/, 'maxInstances without match');
  fails(t, () => load(['--config', file({ redisUrl: 'http://x' })]), ErrorCodes.CONFIG_INVALID, /^redisUrl: \S/, 'bad URL scheme');
  fails(t, () => load(['--config', file({ redisUrl: 'not a url' })]), ErrorCodes.CONFIG_INVALID, /^redisUrl: \S/, 'not a URL');
  fails(t, () => load([], { VIGIL_REDIS_URL: 'redis://h/99' }), ErrorCodes.CONFIG_INVALID, /^redisUrl \(VIGIL_REDIS_URL\): \S/, 'bad URL from env names the env var');
  fails(t, () => load([], { VIGIL_LOG_LEVEL: 'loud' }), ErrorCodes.CONFIG_INVALID, /^VIGIL_LOG_LEVEL: /, 'bad log level');
  fails(t, () => load(['--pid', 'api']), ErrorCodes.CONFIG_INVALID, /^--pid: expected <id>=<value>/, 'flag without =');
  fails(t, () => load(['--pid', 'api=x']), ErrorCodes.CONFIG_INVALID, /^--pid: expected a positive integer/, 'flag pid not a number');
  fails(t, () => load(['--interval', '10']), ErrorCodes.CONFIG_INVALID, /^--interval: must be 100\.\.3600000/, 'flag interval out of range');
  fails(t, () => load(['--frobnicate']), ErrorCodes.CONFIG_INVALID, /^command line: Unknown option '--frobnicate'/, 'unknown flag');
});

t.test('createCollector checks its options with the same messages', async (t) => {
  const { logger } = sinkLogger();
  const base = { redisUrl: 'redis://127.0.0.1:1', collectorId: 'c', host: 'h', logger };
  fails(t, () => createCollector({ ...base, targets: [] }), ErrorCodes.CONFIG_INVALID, /^targets: nothing to watch/, 'no targets');
  fails(
    t,
    () => createCollector({ ...base, targets: [{ id: 'a', match: '(' }] }),
    ErrorCodes.CONFIG_INVALID,
    /^targets\[0\]\.match: invalid regular expression/,
    'bad regex',
  );
  fails(t, () => createCollector({ ...base, redisUrl: 'x', targets: [{ id: 'a', pid: 1 }] }), ErrorCodes.CONFIG_INVALID, /^redisUrl: /, 'bad URL');
  // The file's rules, not looser ones of its own: a buffer the file would refuse is refused here too.
  const pid1 = [{ id: 'a', pid: 1 }];
  fails(t, () => createCollector({ ...base, targets: pid1, logBufferBytes: 1 }), ErrorCodes.CONFIG_INVALID, /^logBufferBytes: .*65536/, 'logBufferBytes below the file minimum');
  fails(t, () => createCollector({ ...base, targets: pid1, historyMaxLen: 0 }), ErrorCodes.CONFIG_INVALID, /^historyMaxLen: /, 'historyMaxLen 0');
  fails(t, () => createCollector({ ...base, targets: pid1, logRateLimit: { burst: 0 } }), ErrorCodes.CONFIG_INVALID, /^logRateLimit\.burst: /, 'logRateLimit.burst 0');
  fails(t, () => createCollector({ ...base, targets: pid1, logPollMs: 1.5 }), ErrorCodes.CONFIG_INVALID, /^logPollMs: /, 'logPollMs not an integer');
});

t.test('a file that is not JSON: the error says where, never what the file holds', async (t) => {
  const secret = 'hunter2-do-not-echo';
  const cases: Array<[string, string, RegExp]> = [
    ['a bare word', `{"redisUrl": "redis://:${secret}@db", ${secret}}`, /: not valid JSON at line 1, column 49$/],
    ['a missing comma, line 3', `{\n  "redisUrl": "redis://:${secret}@db"\n  "host": "${secret}"\n}`, /: not valid JSON at line 3, column 3$/],
    ['a word where a value goes', `${secret}`, /: not valid JSON at line 1, column 1$/],
    ['cut short', `{"redisUrl": "redis://:${secret}@db"`, /: not valid JSON \(it ends before the value is complete\)$/],
  ];
  for (const [what, text, where] of cases) {
    const path = file(text);
    let message = '';
    fails(t, () => {
      try {
        load(['--config', path]);
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    }, ErrorCodes.CONFIG_UNREADABLE, where, what);
    t.ok(message.startsWith(`config file "${path}": `), `${what}: names the file`);
    t.notMatch(message, secret, `${what}: no text of the file`);
  }
});

t.test('redact: checked in the file and in createCollector options alike', async (t) => {
  const c = load(['--config', file({ redact: { patterns: ['sk-[a-z]+'], logs: 'all' }, targets: [{ id: 'a', pid: 1 }] })]);
  t.same(c.redact, { patterns: ['sk-[a-z]+'], logs: 'all' }, 'kept in the config');
  t.equal(load(['--pid', 'a=1']).redact, undefined, 'absent by default');
  fails(t, () => load(['--config', file({ redact: { patterns: ['('] } })]), ErrorCodes.CONFIG_INVALID, /^redact\.patterns\[0\]: invalid regular expression/, 'pattern that does not compile');
  fails(t, () => load(['--config', file({ redact: { logs: 'some' } })]), ErrorCodes.CONFIG_INVALID, /^redact\.logs: /, 'unknown logs mode');
  fails(t, () => load(['--config', file({ redact: { pattern: ['x'] } })]), ErrorCodes.CONFIG_INVALID, /^redact\.pattern: /, 'unknown key');
  const { logger } = sinkLogger();
  const base = { redisUrl: 'redis://127.0.0.1:1', collectorId: 'c', host: 'h', logger, targets: [{ id: 'a', pid: 1 }] };
  fails(t, () => createCollector({ ...base, redact: { patterns: ['a|'] } }), ErrorCodes.CONFIG_INVALID, /^redact\.patterns\[0\]: matches the empty string/, 'createCollector: empty match');
});

t.test('values from flags and env follow the file schema: lengths checked at load', async (t) => {
  fails(t, () => load(['--pid', 'a=1', '--collector-id', 'x'.repeat(256)]), ErrorCodes.CONFIG_INVALID, /^collectorId: .*255/, '--collector-id too long');
  fails(t, () => load(['--pid', 'a=1'], { VIGIL_METRICS_HOST: 'h'.repeat(256) }), ErrorCodes.CONFIG_INVALID, /^metricsHost: .*255/, 'VIGIL_METRICS_HOST too long');
  t.equal(load(['--pid', 'a=1', '--collector-id', 'x'.repeat(255)]).collectorId.length, 255, '255 characters are fine');
});

t.test('a match pattern that does not compile: the reason, never the pattern', async (t) => {
  let message = '';
  fails(t, () => {
    try {
      load(['--config', file({ targets: [{ id: 'a', match: 'hunter2-(x' }] })]);
    } catch (err) {
      message = (err as Error).message;
      throw err;
    }
  }, ErrorCodes.CONFIG_INVALID, /^targets\[0\]\.match: invalid regular expression: Unterminated group$/, 'bad match pattern');
  t.notMatch(message, 'hunter2', 'the pattern is not echoed');
});

t.test('Redis Cluster seeds: from the flag, the environment or the file; a bad list is refused with its code', async (t) => {
  t.equal(load(['--pid', 'a=1']).redisClusterNodes, undefined, 'none by default: one Redis');
  t.equal(load(['--pid', 'a=1'], { VIGIL_REDIS_CLUSTER_NODES: 'r1:7000,r2:7000' }).redisClusterNodes, 'r1:7000,r2:7000', 'from the environment');
  t.equal(
    load(['--pid', 'a=1', '--redis-cluster-nodes', 'f:1'], { VIGIL_REDIS_CLUSTER_NODES: 'e:1' }).redisClusterNodes,
    'f:1',
    'the flag wins over the environment',
  );
  t.equal(load(['--config', file({ redisClusterNodes: 'file:1', targets: [{ id: 'a', pid: 1 }] })]).redisClusterNodes, 'file:1', 'from the file');
  fails(t, () => load(['--pid', 'a=1', '--redis-cluster-nodes', 'nohostport']), ErrorCodes.REDIS_CLUSTER_NODES_INVALID, /^redisClusterNodes \(--redis-cluster-nodes\): .*host:port/, 'a bad flag names the flag');
  fails(t, () => load(['--pid', 'a=1'], { VIGIL_REDIS_CLUSTER_NODES: 'h:1', VIGIL_REDIS_URL: 'redis://h/3' }), ErrorCodes.REDIS_CLUSTER_NODES_INVALID, /only database 0/, 'a database in the URL');
  fails(t, () => createCollector({ redisUrl: 'redis://h', redisClusterNodes: 'h', collectorId: 'c', host: 'h', targets: [{ id: 'a', pid: 1, intervalMs: 1000 }], logger: sinkLogger().logger }), ErrorCodes.REDIS_CLUSTER_NODES_INVALID, /redisClusterNodes: /, 'createCollector checks it too');
});
