// Targets that would stall or burn the agent: a FIFO or socket as a pidfile, a FIFO, /dev/zero or a
// directory as a log file, a catastrophic `match` regex against a process made to trigger it. Each
// is reported for its own target (exit reason with a code, one agent log line, a line in the
// server's log), the healthy target keeps its schedule, and SIGTERM still ends the agent quickly.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ErrorCodes, Keys, ServerEvents } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { createCollector, type TargetConfig } from '../src/index.js';
import { MatchSource } from '../src/source-match.js';
import {
  cli,
  collectorFor,
  isAgentLine,
  latest,
  logEntries,
  redisFor,
  registryEntry,
  sinkLogger,
  spawnChild,
  statusEvents,
  tempDir,
  watchRoom,
  type Broadcast,
} from './fixtures.js';

const INTERVAL_MS = 200;
const WINDOW_MS = 2000;
/** Ten ticks are due in the window; a busy machine may lose a few, a stalled agent loses them all. */
const MIN_SAMPLES = 6;
/** `(a+)+$` against this takes V8 about 2^38 steps: minutes, if it ever ran. */
const AAAS = `${'a'.repeat(38)}!`;

const samples = (room: readonly Broadcast[]) => room.filter((b) => b.event === ServerEvents.processInfo).length;

type Hostile = { targets: TargetConfig[]; fifoPidfile: string; socketPidfile: string; fifoLog: string; dir: string };

/** A healthy `api` beside one target per hostile file, and a catastrophic regex with its victim process running. */
async function hostileTargets(t: Test): Promise<Hostile> {
  const dir = tempDir(t);
  const fifoPidfile = join(dir, 'fifo.pid');
  const fifoLog = join(dir, 'fifo.log');
  execFileSync('mkfifo', [fifoPidfile, fifoLog]);
  const socketPidfile = join(dir, 'sock.pid');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPidfile, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const logDir = join(dir, 'a-directory.log');
  mkdirSync(logDir);
  const api = await spawnChild(t);
  await spawnChild(t, 'setTimeout(() => {}, 60000)', [AAAS]);
  const targets: TargetConfig[] = [
    { id: 'api', pid: api.pid, intervalMs: INTERVAL_MS },
    { id: 'fifo-pidfile', pidfile: fifoPidfile, intervalMs: INTERVAL_MS },
    { id: 'socket-pidfile', pidfile: socketPidfile, intervalMs: INTERVAL_MS },
    { id: 'fifo-log', pid: api.pid, logFiles: [fifoLog], intervalMs: INTERVAL_MS },
    { id: 'zero-log', pid: api.pid, logFiles: ['/dev/zero'], intervalMs: INTERVAL_MS },
    { id: 'dir-log', pid: api.pid, logFiles: [logDir], intervalMs: INTERVAL_MS },
    { id: 'redos', match: '(a+)+$', maxInstances: 1, intervalMs: INTERVAL_MS },
  ];
  return { targets, fifoPidfile, socketPidfile, fifoLog, dir: logDir };
}

t.test('each hostile target is reported for itself; the healthy one keeps its schedule', async (t) => {
  const { redis, r } = await redisFor(t);
  const h = await hostileTargets(t);
  const { collector, lines } = collectorFor(t, redis.url, { targets: h.targets, logPollMs: 50 });
  const rooms = Object.fromEntries(
    await Promise.all(['api', 'fifo-pidfile', 'socket-pidfile', 'redos'].map(async (id) => [id, await watchRoom(t, redis.url, id)] as const)),
  );
  const startedAt = performance.now();
  await collector.start();
  await waitFor(() => samples(rooms.api!) > 0, { message: 'a first sample of api' });
  t.ok(performance.now() - startedAt < 3000, `first sample after ${Math.round(performance.now() - startedAt)} ms`);
  const before = samples(rooms.api!);
  const windowStart = performance.now();
  // Ends as soon as enough ticks came (a bare sleep would wait the whole window even then).
  await waitFor(() => samples(rooms.api!) - before >= MIN_SAMPLES, { timeoutMs: WINDOW_MS, message: 'api samples' }).catch(() => undefined);
  const got = samples(rooms.api!) - before;
  t.ok(got >= MIN_SAMPLES, `api sampled ${got} times in ${Math.round(performance.now() - windowStart)} ms (interval ${INTERVAL_MS} ms)`);

  const exitReason = (id: string) => statusEvents(rooms[id]!).find((e) => e.status === 'exited')?.reason ?? '';
  t.match(exitReason('fifo-pidfile'), new RegExp(`is a FIFO, not a regular file.*${ErrorCodes.FILE_NOT_REGULAR}`), 'FIFO pidfile: exit reason');
  t.match(exitReason('socket-pidfile'), new RegExp(`is a socket, not a regular file.*${ErrorCodes.FILE_NOT_REGULAR}`), 'socket pidfile: exit reason');
  t.match(exitReason('redos'), new RegExp(`match pattern refused: it backtracks catastrophically: exponential.*${ErrorCodes.REGEX_UNSAFE}`), 'regex: exit reason');
  t.same(statusEvents(rooms.redos!).length, 1, 'the process with 38 a\'s was never matched');
  for (const id of ['fifo-pidfile', 'socket-pidfile', 'redos']) t.match(await registryEntry(r, id), { status: 'exited' }, `${id}: registry says exited`);
  for (const id of ['api', 'fifo-log', 'zero-log', 'dir-log']) {
    t.match(await registryEntry(r, id), { status: 'running' }, `${id}: the process is still watched`);
    t.not(await latest(r, id), null, `${id}: sampled`);
  }
  t.ok(Number(await r.zscore(Keys.heartbeats, 'fifo-pidfile')) > 0, 'heartbeats of the reported target go on');

  const coded = (code: string, text: string) => lines.filter((l) => l.code === code && l.msg.includes(text));
  for (const [what, code, text] of [
    ['FIFO pidfile', ErrorCodes.FILE_NOT_REGULAR, h.fifoPidfile],
    ['socket pidfile', ErrorCodes.FILE_NOT_REGULAR, h.socketPidfile],
    ['FIFO log file', ErrorCodes.FILE_NOT_REGULAR, h.fifoLog],
    ['/dev/zero', ErrorCodes.FILE_NOT_REGULAR, '/dev/zero is a character device'],
    ['directory', ErrorCodes.FILE_NOT_REGULAR, `${h.dir} is a directory`],
    ['regex', ErrorCodes.REGEX_UNSAFE, 'redos'],
  ] as const) {
    t.equal(coded(code, text).length, 1, `${what}: one log line with ${code}, not one per tick`);
  }
  for (const [id, text] of [
    ['fifo-log', h.fifoLog],
    ['zero-log', '/dev/zero'],
    ['dir-log', h.dir],
  ] as const) {
    const notices = (await logEntries(r, id)).filter((e) => isAgentLine(e) && e.logData.message.includes(text));
    t.equal(notices.length, 1, `${id}: one line in the server's own log`);
    t.match(notices[0]?.logData, { level: 'warn', message: new RegExp(`not a regular file.*${ErrorCodes.FILE_NOT_REGULAR}`) });
  }
  t.equal(collector.stats().logLinesRead, 0, 'nothing was read from /dev/zero (or anything else)');
});

t.test('a catastrophic redaction pattern stops the load: it cannot be disabled without leaking', async (t) => {
  const { logger } = sinkLogger();
  t.throws(
    () => createCollector({ redisUrl: 'redis://127.0.0.1:1', collectorId: 'c', host: 'h', logger, self: { id: 's' }, targets: [], redact: { patterns: ['x', '(a|a)+$'] } }),
    { code: ErrorCodes.CONFIG_INVALID, message: /^redact\.patterns\[1\]: backtracks catastrophically: exponential/ },
  );
  t.throws(
    () => createCollector({ redisUrl: 'redis://127.0.0.1:1', collectorId: 'c', host: 'h', logger, self: { id: 's' }, targets: [], redact: { patterns: ['\\d+\\d+$'] } }),
    { code: ErrorCodes.CONFIG_INVALID, message: /^redact\.patterns\[0\]: backtracks catastrophically: polynomial/ },
    'polynomial too: redaction runs on every log line',
  );
});

t.test('a match pattern over its time budget is disabled with a clear error, once', async (t) => {
  const { logger, lines } = sinkLogger();
  const source = new MatchSource({ targetId: 'slow', match: /node/, logger, budgetMs: 0 });
  const processes = Array.from({ length: 50 }, (_, i) => ({ pid: 1000 + i, cmdline: `node worker ${i}` }));
  let scans = 0;
  const ctx = { processes: async () => (scans++, processes) };
  const first = await source.resolve(ctx);
  t.same(first.pids, [], 'no candidate');
  t.match(first.unresolved, new RegExp(`match pattern disabled: matching took \\d+ ms in one tick, over its budget of 0 ms.*${ErrorCodes.REGEX_TOO_SLOW}`));
  t.same(await source.resolve(ctx), first, 'it stays disabled');
  t.equal(scans, 1, 'and does not run again');
  t.match(lines.filter((l) => l.code === ErrorCodes.REGEX_TOO_SLOW), [{ targetId: 'slow', level: 50 }], 'one error line');
  t.equal(lines.filter((l) => l.code === ErrorCodes.REGEX_TOO_SLOW).length, 1);
});

t.test('SIGTERM ends an agent with hostile targets within its deadline', async (t) => {
  const { redis, r } = await redisFor(t);
  const h = await hostileTargets(t);
  const config = join(tempDir(t), 'collector.json');
  writeFileSync(config, JSON.stringify({ redisUrl: redis.url, collectorId: 'hostile', host: 'h', stateDir: tempDir(t), targets: h.targets }));
  const run = cli(t, ['--config', config], { VIGIL_LOG_LEVEL: 'info' });
  await waitFor(async () => (await latest(r, 'api')) !== null && (await registryEntry(r, 'fifo-pidfile')) !== null, {
    timeoutMs: 30_000,
    message: 'samples and registry entries from the CLI',
  }).catch((err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  });
  const sentAt = performance.now();
  run.proc.kill('SIGTERM');
  const code = await run.exited;
  const took = performance.now() - sentAt;
  t.equal(code, 0, 'exit 0');
  t.ok(took < 5000, `exited ${Math.round(took)} ms after SIGTERM`);
  t.match(run.output(), /"msg":"collector stopped"/, 'stopped cleanly');
});
