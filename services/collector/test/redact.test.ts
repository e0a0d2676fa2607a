// Redaction: what of a command line or a log line may leave the host, rule by rule; and the
// environment a supervised command starts with.
import t from 'tap';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { Redactor } from '../src/redact.js';
import { childEnv } from '../src/supervisor.js';

const r = new Redactor();

t.test('command lines: URL credentials, secret long flags, secret KEY=value pairs', async (t) => {
  const cases: Array<[string[], string]> = [
    [['app', '--redis-url', 'redis://:hunter2@db:6379/0'], 'app --redis-url redis://:***@db:6379/0'],
    [['app', 'postgres://admin:s3cr3t@db/x'], 'app postgres://admin:***@db/x'],
    [['app', '--url=https://u:p@h/'], 'app --url=https://u:***@h/'],
    [['app', '--password', 'hunter2', '--port', '80'], 'app --password *** --port 80'],
    [['app', '--password=hunter2'], 'app --password=***'],
    [['app', '--db-password', 'x y z'], 'app --db-password ***'],
    [['app', '--token=abc', '--api-key', 'k', '--apikey=k2', '--client-secret', 's', '--auth-token', 'a', '--credentials-file', '/c'], 'app --token=*** --api-key *** --apikey=*** --client-secret *** --auth-token *** --credentials-file ***'],
    [['app', '--token', '--verbose'], 'app --token --verbose'],
    [['app', '-p', 'hunter2', '--port', '6379', '--user', 'bob'], 'app -p hunter2 --port 6379 --user bob'],
    [['env', 'DB_PASSWORD=x', 'AWS_SECRET_ACCESS_KEY=y', 'API_KEY=z', 'GITHUB_TOKEN=t', 'MODE=prod', 'app'], 'env DB_PASSWORD=*** AWS_SECRET_ACCESS_KEY=*** API_KEY=*** GITHUB_TOKEN=*** MODE=prod app'],
    [['node', 'server.js'], 'node server.js'],
  ];
  for (const [argv, want] of cases) t.equal(r.argv(argv), want, argv.join(' '));
  t.equal(r.commandLine('app --password hunter2 redis://:pw@h'), 'app --password *** redis://:***@h', 'a command line read as one string');
});

t.test('patterns from the config apply to command lines, and to log lines with logs "all"', async (t) => {
  const custom = Redactor.fromConfig({ patterns: ['sk-[A-Za-z0-9]{8,}', 'internal\\.example'] });
  t.equal(custom.argv(['app', 'sk-ABCDEFGH12', 'https://internal.example/x']), 'app *** https://***/x');
  t.equal(custom.logText('key sk-ABCDEFGH12'), 'key sk-ABCDEFGH12', 'logs "urls" (the default): only URL credentials');
  const all = Redactor.fromConfig({ patterns: ['sk-[A-Za-z0-9]{8,}'], logs: 'all' });
  t.equal(all.logText('using sk-ABCDEFGH12 twice: sk-ABCDEFGH12'), 'using *** twice: ***', 'every match');
});

t.test('log lines: URL credentials by default; every rule with "all"; nothing with "none"', async (t) => {
  const line = 'connect redis://:hunter2@db:6379 with --password hunter2 and DB_TOKEN=abc mode=fast';
  t.equal(r.logText(line), 'connect redis://:***@db:6379 with --password hunter2 and DB_TOKEN=abc mode=fast', 'default: urls');
  const all = new Redactor([], 'all');
  t.equal(all.logText(line), 'connect redis://:***@db:6379 with --password *** and DB_TOKEN=*** mode=fast', 'all');
  t.equal(all.logText('GET /x?token=abc&page=2 --auth=xyz'), 'GET /x?token=***&page=2 --auth=***', 'query pairs and --flag=value');
  t.equal(new Redactor([], 'none').logText(line), line, 'none');

  const fields = { url: 'amqp://u:p@mq/', nested: { list: ['https://a:b@h'] }, password: 'x', n: 1 };
  t.same(r.logFields(fields), { url: 'amqp://u:***@mq/', nested: { list: ['https://a:***@h'] }, password: 'x', n: 1 }, 'JSON fields, default');
  t.same(all.logFields(fields), { url: 'amqp://u:***@mq/', nested: { list: ['https://a:***@h'] }, password: '***', n: 1 }, 'JSON fields, all');
  t.equal(r.logText('{"url":"redis://:pw@h"}'), '{"url":"redis://:***@h"}', 'quotes around a URL stay');
});

t.test('redact config: patterns must compile and must not match the empty string; the message never quotes them', async (t) => {
  const fails = (config: Parameters<typeof Redactor.fromConfig>[0], message: RegExp, what: string) => {
    try {
      Redactor.fromConfig(config);
      t.fail(`${what}: accepted`);
    } catch (err) {
      t.ok(err instanceof VigilError, what);
      t.equal((err as VigilError).code, ErrorCodes.CONFIG_INVALID, `${what}: code`);
      t.match((err as Error).message, message, `${what}: message`);
      t.notMatch((err as Error).message, /hunter2/, `${what}: the pattern is not echoed`);
    }
  };
  fails({ patterns: ['ok', '(hunter2'] }, /^redact\.patterns\[1\]: invalid regular expression: /, 'unterminated group');
  fails({ patterns: ['(?:hunter2)?'] }, /^redact\.patterns\[0\]: matches the empty string/, 'empty match');
});

t.test('a supervised command inherits a few variables, never the agent\'s VIGIL_* ones; its own env wins', async (t) => {
  const parent = {
    PATH: '/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TZ: 'UTC',
    USER: 'u',
    SHELL: '/bin/sh',
    TMPDIR: '/tmp',
    TERM: 'xterm',
    VIGIL_REDIS_URL: 'redis://:pw@h',
    AWS_SECRET_ACCESS_KEY: 's',
    NODE_OPTIONS: '--inspect',
  };
  t.same(childEnv(parent), { PATH: '/bin', HOME: '/root', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', USER: 'u', SHELL: '/bin/sh', TMPDIR: '/tmp', TERM: 'xterm' });
  const own = childEnv(parent, { PATH: '/opt/bin', VIGIL_MODE: 'set by the operator', APP: '1' });
  t.equal(own.PATH, '/opt/bin', 'the target env wins');
  t.equal(own.VIGIL_MODE, 'set by the operator', 'a VIGIL_* the target names itself is kept');
  t.equal(own.VIGIL_REDIS_URL, undefined, "the agent's own VIGIL_* is not");
});
