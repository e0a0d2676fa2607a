// How many log lines per second one collector puts into Redis: a supervised child prints
// numbered lines as fast as its stdout takes them; the logs stream's `entries-added` (XINFO, not
// trimmed by MAXLEN) is read every second. Run: npm run bench:logs [-- <seconds> <json|text>]
import { pino } from 'pino';
import { Keys } from '@vigil/protocol';
import { closeRedis, createRedis } from '@vigil/store';
import { startRedis } from '@vigil/testkit';
import { createCollector } from '../src/index.js';

const seconds = Number(process.argv[2] ?? 10);
const kind = process.argv[3] === 'json' ? 'json' : 'text';
// The child writes 64 KiB at a time and waits for 'drain': as fast as the pipe is read.
const printer = `
let i = 0;
const json = ${kind === 'json'};
function more() {
  for (;;) {
    let chunk = '';
    while (chunk.length < 65536) {
      i++;
      chunk += json
        ? '{"level":' + (10 + (i % 6) * 10) + ',"time":' + Date.now() + ',"pid":1,"hostname":"h","msg":"request ' + i + ' served","route":"/api/items","ms":12}\\n'
        : 'INFO request ' + i + ' served in 12 ms route=/api/items user=42\\n';
    }
    if (!process.stdout.write(chunk)) return process.stdout.once('drain', more);
  }
}
more();`;

const redis = await startRedis();
const r = createRedis(redis.url, 'command');
const collector = createCollector({
  redisUrl: redis.url,
  collectorId: 'bench',
  host: 'bench',
  targets: [{ id: 'flood', command: [process.execPath, '-e', printer], logRateLimit: { linesPerSecond: 1_000_000, burst: 10_000_000 } }],
  logHistoryMaxLen: 100_000,
  logger: pino({ level: 'warn' }),
});
const added = async () => {
  try {
    const info = (await r.xinfo('STREAM', Keys.logs('flood'))) as unknown[];
    return Number(info[info.indexOf('entries-added') + 1]);
  } catch {
    return 0;
  }
};
await collector.start();
const rates: number[] = [];
let last = await added();
let lastAt = performance.now();
const cpu0 = process.cpuUsage();
for (let s = 0; s < seconds; s++) {
  await new Promise((res) => setTimeout(res, 1000));
  const n = await added();
  const at = performance.now();
  rates.push(((n - last) * 1000) / (at - lastAt));
  last = n;
  lastAt = at;
}
const cpu = process.cpuUsage(cpu0);
const stats = collector.stats();
await collector.stop();
await closeRedis(r);
await redis.close();
const steady = rates.slice(1).sort((a, b) => a - b);
const median = steady[Math.floor(steady.length / 2)] ?? 0;
console.log(
  JSON.stringify({
    kind,
    seconds,
    linesPerSecondMedian: Math.round(median),
    linesPerSecondEach: rates.map(Math.round),
    agentCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100),
    read: stats.logLinesRead,
    written: stats.logLinesWritten,
    dropped: stats.logLinesDropped,
  }),
);
