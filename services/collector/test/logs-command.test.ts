// A supervised command's output as a user of the logs sees it: every line in Redis, in order, at
// the right level, and broadcast exactly once to exactly the room of its level, so a subscriber
// at `warn` gets the warn, error and fatal lines, each once.
import t from 'tap';
import { LOG_LEVELS, levelsFrom, type LogLevel } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import {
  checkLogsEvent,
  isAgentLine,
  logEntries,
  waitForLines,
  watchLogRooms,
  type LogEntry,
  redisFor,
  collectorFor,
} from './fixtures.js';

const LINES = 10_000;
const PINO_LEVELS = [10, 20, 30, 40, 50, 60];
const T0 = Date.UTC(2026, 0, 1);

type Expected = { stream: 'stdout' | 'stderr'; level: LogLevel; message: string; time?: string };

/** Line i of the printer below: pino JSON at every level, plain text, a `WARN` prefix, stderr. */
function expected(i: number): Expected {
  switch (i % 5) {
    case 0:
    case 1:
      return { stream: 'stdout', level: LOG_LEVELS[i % 6]!, message: `json ${i}`, time: new Date(T0 + i).toISOString() };
    case 2:
      return { stream: 'stdout', level: 'info', message: `plain ${i}` };
    case 3:
      return { stream: 'stdout', level: 'warn', message: `WARN prefixed ${i}` };
    default:
      return { stream: 'stderr', level: 'error', message: `oops ${i}` };
  }
}

// Writes in chunks of ~100 lines per stream, so lines are split across pipe reads anywhere.
const PRINTER = `
const levels = ${JSON.stringify(PINO_LEVELS)};
let out = '', err = '';
for (let i = 0; i < ${LINES}; i++) {
  switch (i % 5) {
    case 0: case 1: out += JSON.stringify({ level: levels[i % 6], time: ${T0} + i, pid: process.pid, hostname: 'h', msg: 'json ' + i, i }) + '\\n'; break;
    case 2: out += 'plain ' + i + '\\n'; break;
    case 3: out += 'WARN prefixed ' + i + '\\r\\n'; break;
    default: err += 'oops ' + i + '\\n';
  }
  if (i % 100 === 99) { process.stdout.write(out); process.stderr.write(err); out = ''; err = ''; }
}
setInterval(() => {}, 1000);`;

t.test(`${LINES} lines of a supervised command: complete, in order, right levels, one broadcast each to its level's room`, async (t) => {
  const { redis, r } = await redisFor(t);
  const rooms = await watchLogRooms(t, redis.url, 'web');
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'web', command: [process.execPath, '-e', PRINTER], logRateLimit: { linesPerSecond: 100_000, burst: 100_000 } }],
    logHistoryMaxLen: 20_000,
    level: 'info',
  });
  await collector.start();

  const entries = await waitForLines(r, 'web', LINES, 30_000);
  t.equal(entries.length, LINES, 'exactly the lines printed, no agent line');
  t.ok(entries.every((e) => !isAgentLine(e) && e.serverId === 'web'), 'all captured lines of web');
  // Two pipes: the order between stdout and stderr is the kernel's, within each it is the child's.
  for (const stream of ['stdout', 'stderr'] as const) {
    const want = Array.from({ length: LINES }, (_, i) => expected(i)).filter((e) => e.stream === stream);
    const got = entries.filter((e) => e.logData.metadata.stream === stream);
    t.same(got.map((e) => e.logData.message), want.map((e) => e.message), `${stream}: same messages, same order`);
    t.same(got.map((e) => e.logData.level), want.map((e) => e.level), `${stream}: levels right`);
  }
  const byMessage = new Map(entries.map((e) => [e.logData.message, e]));
  const json5 = byMessage.get('json 5')!;
  t.equal(json5.logData.timestamp, new Date(T0 + 5).toISOString(), 'a pino line keeps its own time');
  t.same(json5.logData.metadata, { i: 5, stream: 'stdout' }, 'its other fields are metadata (pid, hostname, time, level, msg left out)');
  t.same(byMessage.get('plain 2')!.logData.metadata, { stream: 'stdout' }, 'plain line metadata');
  t.same(byMessage.get('oops 4')!.logData.metadata, { stream: 'stderr' }, 'stderr line metadata');

  await waitFor(() => rooms.length >= LINES, { message: 'every broadcast', timeoutMs: 15_000 });
  const levelAt = new Map(entries.map((e) => [e.position, e.logData.level]));
  const positions = rooms.map((b) => b.payload.position);
  t.equal(new Set(positions).size, positions.length, 'no line broadcast twice');
  t.same(new Set(positions), new Set(levelAt.keys()), 'every stored line broadcast, with its stream position');
  t.ok(rooms.every((b) => b.room === levelAt.get(b.payload.position)), 'each broadcast went to the room of its own level');
  t.ok(rooms.every((b) => b.event === 'process:logs' && checkLogsEvent.check(b.payload)), 'process:logs events, valid against the schema');

  const warnView = rooms.filter((b) => levelsFrom('warn').includes(b.room)).map((b) => b.payload.position);
  const warnLines = entries.filter((e) => levelsFrom('warn').includes(e.logData.level)).map((e) => e.position);
  t.equal(new Set(warnView).size, warnView.length, 'a subscriber at warn gets each line once');
  t.same([...warnView].sort(), [...warnLines].sort(), 'and exactly the warn, error and fatal lines');
  t.same(collector.stats().logLinesDropped + collector.stats().logLinesRateLimited, 0, 'nothing dropped');
});

t.test('line endings, characters split across writes, and the last line without a newline', async (t) => {
  const { redis, r } = await redisFor(t);
  // "héllo" split inside the é, a CRLF line, then a last line with no newline, then a clean exit.
  const script = `
const parts = [Buffer.from([0x68, 0xc3]), Buffer.from([0xa9, 0x6c, 0x6c, 0x6f, 0x0a]), Buffer.from('crlf line\\r\\n'), Buffer.from('last words')];
(function next() {
  const p = parts.shift();
  if (!p) return;
  process.stdout.write(p, () => setTimeout(next, 30));
})();`;
  const { collector } = collectorFor(t, redis.url, { targets: [{ id: 'web', command: [process.execPath, '-e', script] }], level: 'info' });
  await collector.start();
  const entries: LogEntry[] = await waitFor(
    async () => {
      const e = await logEntries(r, 'web');
      return e.some((x) => isAgentLine(x)) ? e : null;
    },
    { message: 'the exit notice' },
  );
  t.same(
    entries.map((e) => e.logData.message),
    ['héllo', 'crlf line', 'last words', entries[3]!.logData.message],
    'whole lines, CR dropped, the partial last line flushed before the exit notice',
  );
  t.match(entries[3], { logData: { level: 'info', message: /^vigil: process \d+ exited with code 0; not restarted/, metadata: { stream: 'vigil', exitCode: 0 } } });
});
