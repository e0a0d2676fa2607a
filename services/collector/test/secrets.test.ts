// Who may see what: a real vigil-collector on a password-protected Redis. Its own command line
// (watched as `self`) reaches the registry with the password redacted, and a supervised command
// starts without the agent's environment: no VIGIL_* of the agent's, no secret it was given.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@vigil/testkit';
import { cli, isAgentLine, logEntries, redisFor, registryEntry } from './fixtures.js';

const PASSWORD = 'redis-pass-5f1e';
const SECRET = 'agent-secret-9c2d';

t.test('the registry shows a redacted command line; a supervised command sees none of the agent\'s secrets', async (t) => {
  const { redis, r } = await redisFor(t, { password: PASSWORD });
  t.match(redis.url, `:${PASSWORD}@`, 'the collector is given the password in its URL');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-collector-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      stateDir: join(dir, 'state'),
      targets: [
        { id: 'dump', command: 'env', env: { VIGIL_OWN: 'named by the operator', APP_MODE: 'test' }, restart: { maxRestarts: 0 } },
        { id: 'talk', command: [process.execPath, '-e', `console.log('connecting to redis://:${PASSWORD}@db:6379/0')`], restart: { maxRestarts: 0 } },
      ],
    }),
  );
  const run = cli(t, ['--config', config, '--redis-url', redis.url, '--collector-id', 'sec', '--self', 'me', '--interval', '200'], {
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_HOST: 'secrets-host',
    VIGIL_EXTRA_SECRET: SECRET,
    MY_API_TOKEN: SECRET,
  });
  const failing = (err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  };

  const me = await waitFor(async () => (await registryEntry(r, 'me'))?.command ?? null, { timeoutMs: 30_000, message: "the collector's own registry entry" }).catch(failing);
  t.match(me, 'src/cli.ts', 'the command line is the collector itself');
  t.match(me, /--redis-url redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/, 'the URL is there, its password redacted');
  t.notMatch(me, PASSWORD, 'the password is not');

  // The agent's note of the exit comes after every line the command wrote.
  const entries = await waitFor(
    async () => {
      const e = await logEntries(r, 'dump');
      return e.some(isAgentLine) ? e : null;
    },
    { timeoutMs: 30_000, message: 'the env output and its exit' },
  ).catch(failing);
  const env = entries.filter((e) => !isAgentLine(e)).map((e) => e.logData.message);
  t.ok(env.some((l) => l.startsWith('PATH=')), 'PATH is inherited');
  t.ok(env.includes('APP_MODE=test'), "the target's own env is set");
  t.ok(env.includes('VIGIL_OWN=named by the operator'), 'a VIGIL_* variable the target names itself is set');
  t.same(
    env.filter((l) => l.startsWith('VIGIL_')),
    ['VIGIL_OWN=named by the operator'],
    "none of the agent's VIGIL_* variables (VIGIL_HOST, VIGIL_LOG_LEVEL, VIGIL_EXTRA_SECRET…)",
  );
  t.notOk(env.some((l) => l.includes(SECRET)), 'no secret of the agent environment');
  t.notOk(env.some((l) => l.includes(PASSWORD)), 'no Redis password');
  t.equal((await registryEntry(r, 'dump'))?.command, 'env', 'the supervised command line as configured');

  const talk = await waitFor(async () => (await logEntries(r, 'talk')).find((e) => !isAgentLine(e)), { message: 'the line with a URL' }).catch(failing);
  t.equal(talk.logData.message, 'connecting to redis://:***@db:6379/0', 'URL credentials in a log line are redacted by default');

  run.proc.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exit 0 on SIGTERM');
  t.notMatch(run.output(), PASSWORD, "the collector's own log never shows the password");
});
