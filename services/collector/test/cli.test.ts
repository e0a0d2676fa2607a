// The vigil-collector entry as operators run it: config errors are one line with a code and exit
// 1; a valid config runs, writes to Redis and exits 0 on SIGTERM.
import t from 'tap';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@vigil/protocol';
import { defaultStateDir } from '../src/index.js';
import { waitFor } from '@vigil/testkit';
import { alive, cli, latest, logEntries, redisFor, registryEntry, spawnChild, waitForLines } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-collector-cli-'));

function configFile(content: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

t.test('config errors: exit 1, the code and the field, no stack', async (t) => {
  const cases: Array<[string, string[], string, RegExp]> = [
    ['bad JSON', ['--config', configFile('{"targets": [')], ErrorCodes.CONFIG_UNREADABLE, /not valid JSON/],
    ['bad regex', ['--config', configFile({ targets: [{ id: 'w', match: '(' }] })], ErrorCodes.CONFIG_INVALID, /targets\[0\]\.match: invalid regular expression/],
    ['missing file', ['--config', join(dir, 'nope.json')], ErrorCodes.CONFIG_UNREADABLE, /ENOENT/],
  ];
  await Promise.all(
    cases.map(async ([what, args, code, message]) => {
      const run = cli(t, args);
      t.equal(await run.exited, 1, `${what}: exit 1`);
      const out = run.output();
      t.match(out, code, `${what}: the code`);
      t.match(out, message, `${what}: the reason`);
      t.notMatch(out, /\n\s+at /, `${what}: no stack trace`);
    }),
  );
});

t.test('a valid config runs, writes to Redis, and exits 0 on SIGTERM', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const config = configFile({
    redisUrl: redis.url,
    collectorId: 'cli-test',
    host: 'cli-host',
    defaults: { intervalMs: 200 },
    self: { id: 'collector-self' },
    targets: [{ id: 'api', pid: child.pid }],
  });
  const run = cli(t, ['--config', config], { VIGIL_LOG_LEVEL: 'info' });
  await waitFor(async () => (await latest(r, 'api')) !== null && (await latest(r, 'collector-self')) !== null, {
    timeoutMs: 30_000,
    message: 'samples from the CLI',
  }).catch((err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  });
  t.match(await registryEntry(r, 'api'), { collectorId: 'cli-test', host: 'cli-host', pid: child.pid, status: 'running', intervalMs: 200 });
  t.match(await registryEntry(r, 'collector-self'), { pid: run.proc.pid, status: 'running' }, 'the agent watches itself');
  run.proc.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exit 0 on SIGTERM');
  t.match(run.output(), /"msg":"collector stopped"/, 'stopped cleanly');
  const clients = await redis.command('CLIENT', 'LIST');
  t.notMatch(clients, /name=vigil-collector:cli-test/, 'its Redis connection is closed');
});

t.test('--command and --log-file: output and file lines reach Redis; SIGTERM ends the child, exit 0', async (t) => {
  const { redis, r } = await redisFor(t);
  // No flag names a state directory: the default one, removed afterwards.
  t.teardown(() => rmSync(defaultStateDir('cli-cmd'), { recursive: true, force: true }));
  const logFile = join(dir, `${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(logFile, '');
  const script = "console.log('pid ' + process.pid); setInterval(() => {}, 1000)";
  const run = cli(
    t,
    ['--redis-url', redis.url, '--collector-id', 'cli-cmd', '--command', `web=${process.execPath} -e "${script}"`, '--log-file', `web=${logFile}`],
    { VIGIL_LOG_LEVEL: 'info' },
  );
  const first = await waitFor(async () => (await logEntries(r, 'web'))[0], { timeoutMs: 30_000, message: 'the child output' }).catch((err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  });
  const pid = Number(first.logData.message.split(' ')[1]);
  t.ok(alive(pid), `the child ${pid} runs`);
  await waitFor(() => /"msg":"following log file"/.test(run.output()), { message: 'the file followed' });
  appendFileSync(logFile, 'ERROR from the file\n');
  await waitForLines(r, 'web', 2);
  t.match((await logEntries(r, 'web'))[1], { logData: { level: 'error', message: 'ERROR from the file', metadata: { stream: 'file', file: logFile } } });
  run.proc.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exit 0 on SIGTERM');
  t.notOk(alive(pid), 'the supervised child is gone');
});
