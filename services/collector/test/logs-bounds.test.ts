// What a user sees when a process goes past the bounds: an oversized message cut on a character
// boundary with a visible marker and the exact number of bytes cut; a flood cut by the rate
// limit, with `warn` lines that count exactly what was dropped.
import t from 'tap';
import { MAX_LOG_MESSAGE_BYTES } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { checkLogsEvent, isAgentLine, logEntries, type LogEntry, redisFor, collectorFor } from './fixtures.js';

t.test('oversized lines are cut with a marker and metadata.truncated', async (t) => {
  const { redis, r } = await redisFor(t);
  // 'x' + 20000 × 'é' (40001 bytes): a cut at 16384 bytes would split an 'é', so 16383 are kept.
  // A 100000-byte line (longer than what the agent holds of one line) and a pino line whose msg is too long.
  const script = `
process.stdout.write('x' + 'é'.repeat(20000) + '\\n');
process.stdout.write('y'.repeat(100000) + '\\n');
process.stdout.write(JSON.stringify({ level: 50, msg: 'z'.repeat(20000), code: 7 }) + '\\n');
process.stdout.write('short\\n');
setInterval(() => {}, 1000);`;
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'big', command: [process.execPath, '-e', script] }],
    level: 'info',
  });
  await collector.start();
  const entries = await waitFor(async () => {
    const e = await logEntries(r, 'big');
    return e.length >= 4 ? e : null;
  });
  t.ok(entries.every((e) => checkLogsEvent.check(e)), 'cut lines are valid process:logs payloads');
  const [accented, long, json, short] = entries.map((e) => e.logData);
  const kept = MAX_LOG_MESSAGE_BYTES - 1;
  t.equal(accented!.message, `x${'é'.repeat((kept - 1) / 2)} …[truncated ${40001 - kept} bytes]`, 'cut before the character that would not fit, marker with the exact count');
  t.same(accented!.metadata, { stream: 'stdout', truncated: 40001 - kept });
  t.equal(long!.message, `${'y'.repeat(MAX_LOG_MESSAGE_BYTES)} …[truncated ${100000 - MAX_LOG_MESSAGE_BYTES} bytes]`, 'a line longer than the agent holds: the count is still exact');
  t.equal(long!.metadata.truncated, 100000 - MAX_LOG_MESSAGE_BYTES);
  t.equal(json!.level, 'error', 'a JSON line keeps its level when its message is cut');
  t.equal(json!.message, `${'z'.repeat(MAX_LOG_MESSAGE_BYTES)} …[truncated ${20000 - MAX_LOG_MESSAGE_BYTES} bytes]`);
  t.same(json!.metadata, { code: 7, stream: 'stdout', truncated: 20000 - MAX_LOG_MESSAGE_BYTES });
  t.same(short, { level: 'info', message: 'short', timestamp: short!.timestamp, metadata: { stream: 'stdout' } }, 'the next line is whole');
  t.equal(collector.stats().logLinesTruncated, 3);
});

t.test('a flood past the rate limit: the excess is dropped and counted in warn lines', async (t) => {
  const FLOOD = 20_000;
  const { redis, r } = await redisFor(t);
  const script = `
let out = '';
for (let i = 1; i <= ${FLOOD}; i++) out += 'flood ' + i + '\\n';
process.stdout.write(out);
setInterval(() => {}, 1000);`;
  const { collector } = collectorFor(t, redis.url, {
    targets: [{ id: 'flood', command: [process.execPath, '-e', script], logRateLimit: { linesPerSecond: 500, burst: 1000 } }],
    level: 'info',
  });
  await collector.start();
  const dropped = (e: LogEntry[]) => e.filter(isAgentLine).reduce((n, x) => n + (x.logData.metadata.dropped as number), 0);
  // The report of the flood's tail comes from the once-a-second round.
  const entries = await waitFor(
    async () => {
      const e = await logEntries(r, 'flood');
      return e.filter((x) => !isAgentLine(x)).length + dropped(e) === FLOOD ? e : null;
    },
    { message: 'every line either kept or counted', timeoutMs: 15_000 },
  );
  const kept = entries.filter((e) => !isAgentLine(e));
  const reports = entries.filter(isAgentLine);
  t.ok(kept.length >= 1000 && kept.length < FLOOD / 2, `the burst and what the rate allowed were kept: ${kept.length}`);
  t.same(
    kept.map((e) => e.logData.message),
    kept.map((e) => e.logData.message).sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1])),
    'kept lines in order',
  );
  t.same(kept.slice(0, 1000).map((e) => e.logData.message), Array.from({ length: 1000 }, (_, i) => `flood ${i + 1}`), 'the first burst whole');
  t.ok(reports.length >= 1, `${reports.length} report line(s)`);
  for (const rep of reports) {
    const n = rep.logData.metadata.dropped as number;
    t.match(rep.logData, { level: 'warn', message: `vigil: dropped ${n} log lines (rate limit)`, metadata: { dropped: n, reason: 'rate-limit', stream: 'vigil' } });
  }
  t.ok(reports.every((e) => checkLogsEvent.check(e)), 'report lines are valid process:logs payloads');
  t.equal(dropped(entries), FLOOD - kept.length, `kept ${kept.length} + reported dropped ${dropped(entries)} = ${FLOOD}`);
  t.equal(collector.stats().logLinesRateLimited, FLOOD - kept.length, 'the counter agrees');
});
