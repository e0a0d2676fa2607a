// The executable's configuration: the environment is read through the same schema as buildApp's
// options, and a bad value is what an operator can act on: one fatal line naming the variable,
// with its code, no stack, exit 1.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PORT, ErrorCodes, GENERIC_ENV } from '@vigil/protocol';
import { readEnvConfig, type EnvConfig } from '../src/env-config.js';
import { DEFAULT_DRAIN_MS } from '../src/drain.js';

const entry = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
// About a dozen gateway processes, one after the other, each compiling its sources through tsx:
// seconds each on a quiet machine, tens of seconds on a busy one (CI ran past 120 s: .taprc's
// timeout is 300 s for that).
/** Past this a CLI run is killed; far above a start on a busy machine (a refusal comes before any I/O). */
const RUN_LIMIT_MS = 90_000;

function runCli(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Only what the case sets (plus PATH): a VIGIL_* of the surrounding shell must not leak in.
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', entry, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const bad: Array<[string, Record<string, string>, string]> = [
  ['an unknown log level', { VIGIL_LOG_LEVEL: 'verbose' }, 'VIGIL_LOG_LEVEL'],
  ['a Redis URL without a scheme', { VIGIL_REDIS_URL: 'localhost:6379' }, 'VIGIL_REDIS_URL'],
  ['a port that is not a number', { PORT: 'eighty' }, 'PORT'],
  ['a room limit out of range', { VIGIL_MAX_ROOMS_PER_SOCKET: '0' }, 'VIGIL_MAX_ROOMS_PER_SOCKET'],
];

for (const [name, env, variable] of bad) {
  t.test(`${name}: one fatal line naming ${variable}, exit 1`, async (t) => {
    const { code, out } = await runCli(env);
    t.equal(code, 1, 'exit code 1');
    const lines = out.trim().split('\n');
    t.equal(lines.length, 1, `one line (${out.trim().slice(0, 300)})`);
    const line = JSON.parse(lines[0]!) as { level: number; code: string; msg: string };
    t.equal(line.level, 60, 'fatal');
    t.equal(line.code, ErrorCodes.CONFIG_INVALID, 'with its code');
    t.match(line.msg, new RegExp(`^${variable}\\b`), 'the message starts with the variable');
    t.notMatch(out, /\n\s+at /, 'no stack');
  });
}

t.test('a bad Redis URL is named, never echoed (it may hold a password)', async (t) => {
  const { code, out } = await runCli({ VIGIL_REDIS_URL: 'user:hunter2@cache:6379' });
  t.equal(code, 1);
  t.match(out, /VIGIL_REDIS_URL/);
  t.notMatch(out, /hunter2/, 'the password is not in the log');
});

t.test('the environment maps onto the options schema, defaults written once', async (t) => {
  const defaults = readEnvConfig({ VIGIL_AUTH: 'none' });
  t.same(
    defaults,
    {
      port: DEFAULT_PORT,
      host: '0.0.0.0',
      drainMs: DEFAULT_DRAIN_MS,
      logLevel: 'info',
      options: { redisUrl: 'redis://127.0.0.1:6379', metricsPort: 9464, metricsHost: '0.0.0.0', auth: { mode: 'none' } },
    },
    'no variables but VIGIL_AUTH=none: defaults (/metrics on 9464, bound like the public port)',
  );
  const set = readEnvConfig({
    PORT: '4000',
    VIGIL_PORT: '5000',
    VIGIL_BIND_HOST: '127.0.0.1',
    REDIS_URL: 'redis://r:6379',
    CORS_ORIGINS: 'http://a, http://b',
    VIGIL_CORS_ORIGINS: 'http://c',
    VIGIL_GATEWAY_ID: 'gw-7',
    VIGIL_MAX_ROOMS_PER_SOCKET: '12',
    VIGIL_STALE_SWEEP_MS: '500',
    VIGIL_DRAIN_MS: '0',
    VIGIL_LOG_LEVEL: 'warn',
    VIGIL_DASHBOARD_DIR: '/srv/dash',
    VIGIL_AUTH_SECRET_FILE: '/run/secrets/vigil',
    VIGIL_AUTH_AUDIENCE: 'ops',
    VIGIL_AUTH_ISSUER: 'https://id.example',
  });
  t.same(
    set,
    {
      port: 5000,
      host: '127.0.0.1',
      drainMs: 0,
      logLevel: 'warn',
      dashboardDir: '/srv/dash',
      options: {
        redisUrl: 'redis://r:6379',
        publicOrigins: ['http://c'],
        gatewayId: 'gw-7',
        maxRoomsPerSocket: 12,
        staleSweepMs: 500,
        metricsPort: 9464,
        metricsHost: '127.0.0.1',
        auth: { mode: 'jwt', secretFile: '/run/secrets/vigil', audience: 'ops', issuer: 'https://id.example' },
      },
    },
    'each variable lands on its option; VIGIL_PORT before PORT, VIGIL_CORS_ORIGINS (an older name of VIGIL_PUBLIC_ORIGINS) before CORS_ORIGINS',
  );
  const edge = readEnvConfig({
    VIGIL_AUTH: 'none',
    VIGIL_PUBLIC_ORIGINS: 'https://vigil.example.com',
    CORS_ORIGINS: 'http://a',
    VIGIL_METRICS_PORT: '9500',
    VIGIL_METRICS_HOST: '10.0.0.1',
    VIGIL_MAX_BUFFERED_BYTES: '2097152',
    VIGIL_MAX_CONNECTIONS_PER_ADDRESS: '50',
    VIGIL_HANDSHAKES_PER_SECOND: '2.5',
    VIGIL_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
    VIGIL_REST_RATE_LIMIT: '0',
  }).options;
  t.match(
    edge,
    {
      publicOrigins: ['https://vigil.example.com'],
      metricsPort: 9500,
      metricsHost: '10.0.0.1',
      maxBufferedBytes: 2_097_152,
      maxConnectionsPerAddress: 50,
      handshakesPerSecond: 2.5,
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      restRateLimit: 0,
    },
    'the edge variables; VIGIL_PUBLIC_ORIGINS before its older names',
  );
  t.equal(readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_METRICS_PORT: 'off' }).options.metricsPort, false, 'VIGIL_METRICS_PORT=off: no metrics port');
  t.equal(readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_TRUST_PROXY: '1' }).options.trustProxy, 1, 'VIGIL_TRUST_PROXY as a hop count');
  t.equal(readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_TRUST_PROXY: 'true' }).options.trustProxy, true);
  t.equal(readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_URL: 'rediss://a:1', REDIS_URL: 'redis://b:2' }).options.redisUrl, 'rediss://a:1', 'VIGIL_REDIS_URL before REDIS_URL');
  t.throws(() => readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_STALE_SWEEP_MS: '1.5' }), { code: ErrorCodes.CONFIG_INVALID, message: /^VIGIL_STALE_SWEEP_MS="1.5" is invalid/ });
});

t.test('a VIGIL_ variable wins over its generic fallback, which is read when it is unset', async (t) => {
  // Each pair the gateway reads: [its value, the generic one's, what the configuration says].
  const pairs: Record<string, [string, string, (c: EnvConfig) => unknown]> = {
    VIGIL_PORT: ['5000', '4000', (c) => c.port],
    VIGIL_BIND_HOST: ['127.0.0.2', '127.0.0.3', (c) => c.host],
    VIGIL_REDIS_URL: ['redis://vigil:1', 'redis://generic:2', (c) => c.options.redisUrl],
    VIGIL_LOG_LEVEL: ['warn', 'debug', (c) => c.logLevel],
  };
  t.same(Object.keys(pairs).sort(), Object.keys(GENERIC_ENV).sort(), 'the gateway reads every generic fallback there is');
  const read = (env: Record<string, string>) => readEnvConfig({ VIGIL_AUTH: 'none', ...env });
  for (const [name, [vigil, generic, get]] of Object.entries(pairs)) {
    const fallback = GENERIC_ENV[name as keyof typeof GENERIC_ENV];
    t.same(get(read({ [fallback]: generic, [name]: vigil })), get(read({ [name]: vigil })), `${name} wins over ${fallback}`);
    t.not(get(read({ [fallback]: generic, [name]: vigil })), get(read({ [fallback]: generic })), `${name} and ${fallback} give different settings`);
    t.same(get(read({ [fallback]: generic })), get(read({ [name]: generic })), `${fallback} alone is read`);
    t.same(get(read({ [name]: '', [fallback]: generic })), get(read({ [fallback]: generic })), `an empty ${name} is unset`);
  }
  for (const older of ['VIGIL_CORS_ORIGINS', 'CORS_ORIGINS']) {
    t.same(read({ [older]: 'http://old', VIGIL_PUBLIC_ORIGINS: 'http://new' }).options.publicOrigins, ['http://new'], `VIGIL_PUBLIC_ORIGINS wins over ${older}`);
  }
  t.same(read({ CORS_ORIGINS: 'http://generic', VIGIL_CORS_ORIGINS: 'http://vigil' }).options.publicOrigins, ['http://vigil'], 'VIGIL_CORS_ORIGINS wins over CORS_ORIGINS');
  t.throws(() => read({ PORT: 'eighty' }), { code: ErrorCodes.CONFIG_INVALID, message: /^PORT="eighty" is invalid/ }, 'an invalid generic value names its variable');
  t.throws(() => read({ PORT: 'eighty', VIGIL_PORT: 'ninety' }), { message: /^VIGIL_PORT="ninety"/ }, 'the one read is the one named');
});

t.test('no auth key and no VIGIL_AUTH=none: the gateway does not start (one fatal line naming the variables, exit 1)', async (t) => {
  for (const [what, env, message] of [
    ['nothing set', {}, /VIGIL_AUTH_SECRET.*VIGIL_AUTH_SECRET_FILE.*VIGIL_AUTH_PUBLIC_KEY_FILE.*VIGIL_AUTH=none/],
    ['a short secret', { VIGIL_AUTH_SECRET: 'hunter2-hunter2' }, /VIGIL_AUTH_SECRET is too short/],
    ['an unreadable key file', { VIGIL_AUTH_PUBLIC_KEY_FILE: '/nonexistent/vigil.pem' }, /VIGIL_AUTH_PUBLIC_KEY_FILE cannot be read/],
  ] as const) {
    const { code, out } = await runCli({ ...env, PORT: '0' });
    t.equal(code, 1, `${what}: exit 1`);
    const lines = out.trim().split('\n');
    t.equal(lines.length, 1, `${what}: one line (${out.trim().slice(0, 300)})`);
    const line = JSON.parse(lines[0]!) as { level: number; code: string; msg: string };
    t.match(line, { level: 60, code: ErrorCodes.AUTH_CONFIG_INVALID, msg: message }, `${what}: fatal, with its code and the variables`);
    t.notMatch(out, /hunter2/, `${what}: no secret in the log`);
  }
});

t.test('`vigil-gateway token` mints from the same environment', async (t) => {
  const env = { VIGIL_AUTH_SECRET: 'cli-test-secret-0123456789-abcdefghijklmnop' };
  const { code, out } = await runCli(env, ['token', '--sub', 'alice', '--servers', 'web-*', '--ttl', '15m']);
  t.equal(code, 0);
  const { readAuthConfig } = await import('../src/auth/auth-config.js');
  const { createVerifier } = await import('../src/auth/verifier.js');
  const permissions = await createVerifier(await readAuthConfig(env)).verify(out.trim());
  t.match(permissions, { subject: 'alice', logs: false });
  t.ok(permissions.canSee('web-1') && !permissions.canSee('db-1'));
  const bad = await runCli(env, ['token', '--servers', '*']);
  t.equal(bad.code, 2);
  t.match(bad.out, /--sub is required \(VIGIL_ERR_CONFIG_INVALID\)/);
});

t.test('VIGIL_REDIS_CLUSTER_NODES: the seed list reaches the options; a bad one is refused at start with its code', async (t) => {
  const set = readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_URL: 'rediss://u:pw@r1:7000', VIGIL_REDIS_CLUSTER_NODES: 'r1:7000,r2:7000' });
  t.equal(set.options.redisClusterNodes, 'r1:7000,r2:7000');
  t.throws(() => readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_CLUSTER_NODES: 'r1' }), { code: ErrorCodes.REDIS_CLUSTER_NODES_INVALID, message: /^VIGIL_REDIS_CLUSTER_NODES: .*host:port/ });
  t.throws(() => readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_URL: 'redis://h/2', VIGIL_REDIS_CLUSTER_NODES: 'h:1' }), { code: ErrorCodes.REDIS_CLUSTER_NODES_INVALID, message: /only database 0/ });
  t.throws(() => readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_URL: 'redis://h/99', VIGIL_REDIS_CLUSTER_NODES: 'h:1' }), { code: ErrorCodes.REDIS_URL_INVALID }, 'a bad URL is the URL’s fault, not the seed list’s');
});
