// Followed log files as an operator lives with them: a writer process appends numbered lines while
// the file is rotated by rename and then truncated; the agent is stopped and started again while
// lines keep coming; Redis goes away while the agent stops. Each time Redis ends up holding every
// line exactly once, in order.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@vigil/testkit';
import type { Collector } from '../src/index.js';
import { reader, sinkLogger, spawnChild, tempDir, waitForLines, redisFor, collectorFor } from './fixtures.js';

const PAD = 'x'.repeat(40);
const line = (n: number) => `line ${n} ${PAD}`;
const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));

type Command = { write: [number, number] } | { rename: string } | { truncate: true };

/** A separate process that appends to `path` (open, append, close per line) and rotates it when told. */
async function writerProcess(t: Test, path: string) {
  const script = `
const fs = require('node:fs');
process.on('message', (m) => {
  if (m.write) for (let n = m.write[0]; n <= m.write[1]; n++) fs.appendFileSync(${JSON.stringify(path)}, 'line ' + n + ' ${PAD}\\n');
  if (m.rename) fs.renameSync(${JSON.stringify(path)}, m.rename);
  if (m.truncate) fs.truncateSync(${JSON.stringify(path)}, 0);
  process.send('done');
});`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return (command: Command) =>
    new Promise<void>((resolve) => {
      proc.once('message', () => resolve());
      proc.send(command);
    });
}

async function setup(t: Test) {
  const dir = tempDir(t);
  const path = join(dir, 'app.log');
  // Lines from before the agent first looks: not its business.
  writeFileSync(path, 'old 1\nold 2\nold 3\n');
  const { redis, r } = await redisFor(t);
  const owner = await spawnChild(t);
  // One logger for every collector of the test: its lines tell what each run did.
  const { logger, lines } = sinkLogger('info');
  const collector = (): Collector =>
    collectorFor(t, redis.url, {
      targets: [{ id: 'app', pid: owner.pid, logFiles: [path], logRateLimit: { linesPerSecond: 100_000, burst: 100_000 } }],
      stateDir: join(dir, 'state'),
      logPollMs: 50,
      logger,
    }).collector;
  return { dir, path, redis, r, collector, lines };
}

const messages = async (r: ReturnType<typeof reader>, count: number) => (await waitForLines(r, 'app', count)).map((e) => e.logData.message);

t.test('rotated by rename, then truncated, mid-stream: every line once, in order', async (t) => {
  const { dir, path, r, collector, lines } = await setup(t);
  const write = await writerProcess(t, path);
  const c = collector();
  await c.start();
  await waitFor(() => lines.some((l) => l.msg === 'following log file'), { message: 'the file followed' });
  await write({ write: [1, 300] });
  t.same(await messages(r, 300), numbers(1, 300), 'followed from its end: the old lines are not read');

  // Lines 301..600 may still be unread when the file is renamed: the old file is read to its end.
  await write({ write: [301, 600] });
  await write({ rename: join(dir, 'app.log.1') });
  await write({ write: [601, 900] });
  t.same(await messages(r, 900), numbers(1, 900), 'through the rename');

  // After the truncation the file grows past the old offset at once: its changed start tells.
  await write({ truncate: true });
  await write({ write: [901, 1500] });
  const all = await messages(r, 1500);
  t.same(all, numbers(1, 1500), 'through the truncation');
  t.ok(lines.some((l) => l.msg === 'log file rotated: the old file is read to its end'), 'rotation noticed');
  t.ok(lines.some((l) => l.msg === 'log file truncated: reading it from its start'), 'truncation noticed');
});

t.test('across an agent restart the file is resumed where it was: nothing lost, nothing repeated', async (t) => {
  const { path, r, collector, lines } = await setup(t);
  const first = collector();
  await first.start();
  await waitFor(() => lines.some((l) => l.msg === 'following log file'), { message: 'the file followed' });
  for (let n = 1; n <= 100; n++) appendFileSync(path, `${line(n)}\n`);
  await waitForLines(r, 'app', 100);
  // Stopped while lines are coming; more come while it is down.
  for (let n = 101; n <= 150; n++) appendFileSync(path, `${line(n)}\n`);
  await first.stop();
  for (let n = 151; n <= 200; n++) appendFileSync(path, `${line(n)}\n`);

  const second = collector();
  await second.start();
  t.same(await messages(r, 200), numbers(1, 200), 'lines 1..200, each once');
  for (let n = 201; n <= 210; n++) appendFileSync(path, `${line(n)}\n`);
  t.same(await messages(r, 210), numbers(1, 210), 'and it goes on following');
});

t.test('stopped while Redis is away: the unwritten lines are read again at the next start', async (t) => {
  const { path, redis, r, collector, lines } = await setup(t);
  const first = collector();
  await first.start();
  await waitFor(() => lines.some((l) => l.msg === 'following log file'), { message: 'the file followed' });
  for (let n = 1; n <= 50; n++) appendFileSync(path, `${line(n)}\n`);
  await waitForLines(r, 'app', 50);
  await redis.stop();
  for (let n = 51; n <= 100; n++) appendFileSync(path, `${line(n)}\n`);
  await waitFor(() => first.stats().logLinesPending === 50, { message: 'lines read and held' });
  await first.stop();
  t.match(lines.find((l) => l.msg.startsWith('stopping with unwritten log lines')), { reread: 50, dropped: 0 }, 'held file lines are not lost');

  await redis.start();
  const second = collector();
  await second.start();
  // The restarted Redis is empty: what is there was read again from the file.
  t.same(await messages(r, 50), numbers(51, 100), 'lines 51..100 once, from the remembered position');
});
