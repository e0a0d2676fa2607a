// Redis stopped while a supervised process prints numbered lines, then started again (empty, as a
// restarted Redis without persistence is): the lines printed meanwhile were held and arrive once,
// in order, before the newer ones. With a buffer too small for the outage, the earliest lines
// are kept and a `warn` line says exactly how many later ones were dropped.
import t, { type Test } from 'tap';
import { waitFor } from '@vigil/testkit';
import { isAgentLine, registryEntry, waitForLines, redisFor, collectorFor } from './fixtures.js';

const BURST = 20;
const HOLDING = 'redis write of log lines failed: holding them until it recovers';
// Prints the next BURST numbered lines at each SIGUSR1; "ready" once the handler is in place.
const PRINTER = `
let n = 0;
process.on('SIGUSR1', () => {
  let out = '';
  for (let i = 0; i < ${BURST}; i++) out += 'line ' + ++n + '\\n';
  process.stdout.write(out);
});
console.log('ready');
setInterval(() => {}, 1000);`;

async function outage(t: Test, logBufferLines: number) {
  const { redis, r } = await redisFor(t);
  const { collector, lines } = collectorFor(t, redis.url, {
    targets: [{ id: 'printer', command: [process.execPath, '-e', PRINTER] }],
    logBufferLines,
    level: 'info',
  });
  await collector.start();
  const ready = await waitForLines(r, 'printer', 1);
  t.equal(ready[0]!.logData.message, 'ready');
  const pid = (await registryEntry(r, 'printer'))!.pid!;
  // Signals of one kind do not queue: each burst is awaited (read by the agent) before the next.
  const burst = async () => {
    const read = collector.stats().logLinesRead;
    process.kill(pid, 'SIGUSR1');
    await waitFor(() => collector.stats().logLinesRead === read + BURST, { message: 'a burst read' });
  };

  await burst();
  await waitForLines(r, 'printer', 1 + BURST);
  // Nothing is in flight now: the cut between "written before" and "held" is exact.
  await redis.stop();
  await burst();
  await burst();
  await burst();
  const held = Math.min(3 * BURST, logBufferLines);
  await waitFor(() => collector.stats().logLinesPending === held && collector.stats().logLinesDropped === 3 * BURST - held, {
    message: `${held} lines held while Redis is away`,
  });
  // A real outage: writes have failed (not merely waited in the client's queue) before Redis returns.
  await waitFor(() => lines.some((l) => l.msg === HOLDING), { message: 'a failed write' });
  await redis.start();
  // The restarted Redis is empty: whatever is there now was held, or printed after it came back.
  await waitForLines(r, 'printer', held, 20_000);
  await burst();
  const entries = await waitForLines(r, 'printer', held + BURST, 20_000);
  return { entries, lines, stats: collector.stats() };
}

const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

t.test('lines printed while Redis is away arrive once, in order, before the newer ones', async (t) => {
  const { entries, lines } = await outage(t, 50_000);
  t.same(entries.map((e) => e.logData.message), numbers(BURST + 1, 5 * BURST), 'every line of the outage, then the next burst, each once');
  t.notOk(entries.some(isAgentLine), 'nothing was dropped, so nothing to report');
  t.equal(lines.filter((l) => l.msg === HOLDING).length, 1, 'one warning for the outage');
  t.ok(lines.some((l) => l.msg === 'log lines reach redis again'), 'and one when it is over');
});

t.test('a buffer too small for the outage keeps the earliest lines and reports the count of the rest', async (t) => {
  const SMALL = 30;
  const { entries, stats } = await outage(t, SMALL);
  const messages = entries.map((e) => e.logData.message);
  const report = `vigil: dropped ${3 * BURST - SMALL} log lines while Redis was unavailable`;
  t.same(
    messages,
    [...numbers(BURST + 1, BURST + SMALL), report, ...numbers(4 * BURST + 1, 5 * BURST)],
    'the kept lines exact, then the report, then the lines after',
  );
  t.match(entries[SMALL]!.logData, { level: 'warn', metadata: { dropped: 3 * BURST - SMALL, reason: 'redis-unavailable', stream: 'vigil' } });
  t.equal(stats.logLinesDropped, 3 * BURST - SMALL);
});
