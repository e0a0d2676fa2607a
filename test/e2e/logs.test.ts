// Logs end to end, all real: a collector process supervises a writer process and ships its
// lines to Redis; gateway processes fan them out; the client library (behind a balancer)
// receives them. Lines written must arrive complete, in order, once, with their levels: across
// a gateway being killed, and across a 10 s Redis outage.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVigilClient, type VigilClient } from '@vigil/client';
import { LOG_LEVELS, meetsLevel, type LogLevel, type ProcessLogsEvent } from '@vigil/protocol';
import { startRedis, startTcpBalancer, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, COLLECTOR_ENTRY, preRegister, spawnService, startGatewayProcess } from './helpers.js';

const PINO_LEVEL: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const levelOf = (i: number): LogLevel => LOG_LEVELS[i % LOG_LEVELS.length]!;

/** A process that prints `count` pino JSON lines, `perTick` every 10 ms, then exits 0. */
function writerScript(count: number, perTick: number): string {
  return `
    const levels = ${JSON.stringify(LOG_LEVELS.map((l) => PINO_LEVEL[l]))};
    let i = 0;
    const timer = setInterval(() => {
      let out = '';
      for (let k = 0; k < ${perTick} && i < ${count}; k++, i++) {
        out += JSON.stringify({ level: levels[i % 6], time: Date.now(), msg: 'line ' + i, seq: i }) + '\\n';
      }
      process.stdout.write(out);
      if (i >= ${count}) { clearInterval(timer); process.stdout.end(); }
    }, 10);`;
}

async function setup(t: { teardown(fn: () => unknown): void }, count: number, perTick: number) {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-logs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gateways = await Promise.all([startGatewayProcess(t, redis.url), startGatewayProcess(t, redis.url)]);
  const ports = gateways.map((g) => Number(new URL(g.url).port));
  const lb = await startTcpBalancer(ports);
  t.teardown(() => lb.close());
  const config = join(dir, 'collector.json');
  writeFileSync(
    config,
    JSON.stringify({
      redisUrl: redis.url,
      collectorId: 'e2e-logs',
      stateDir: join(dir, 'state'),
      defaults: { intervalMs: 1000 },
      targets: [
        {
          id: 'writer',
          command: [process.execPath, '-e', writerScript(count, perTick)],
          restart: { maxRestarts: 0 },
          logRateLimit: { linesPerSecond: 100_000, burst: 100_000 },
        },
      ],
    }),
  );
  const startCollector = () => spawnService(t, COLLECTOR_ENTRY, ['--config', config], {});
  // The clients subscribe before this collector starts: as if it had run before.
  await preRegister(redis, 'writer');
  return { redis, gateways, ports, lb, startCollector };
}

function subscriber(t: { teardown(fn: () => unknown): void }, url: string) {
  const client = createVigilClient({ url, token: ALL_ACCESS_TOKEN, transports: ['websocket'], reconnection: { initialDelayMs: 100, maxDelayMs: 1000 } });
  t.teardown(() => client.close());
  return client;
}

async function collectLines(client: VigilClient, level: LogLevel) {
  const lines: ProcessLogsEvent[] = [];
  const gaps: unknown[] = [];
  await client.subscribeLogs('writer', { level, onLine: (l) => lines.push(l), onGap: (g) => gaps.push(g) });
  return { lines, gaps };
}

function checkExact(t: { same(a: unknown, b: unknown, m: string): void; equal(a: unknown, b: unknown, m: string): void }, lines: ProcessLogsEvent[], count: number, level: LogLevel, what: string) {
  const expected = Array.from({ length: count }, (_, i) => i).filter((i) => meetsLevel(levelOf(i), level));
  const seqs = lines.filter((l) => l.logData.metadata.stream !== 'vigil').map((l) => Number(l.logData.metadata.seq));
  t.equal(seqs.length, expected.length, `${what}: as many lines as were written at ${level} and above`);
  t.same(seqs, expected, `${what}: exactly those lines, in order, none twice`);
  const wrongLevel = lines.filter((l) => l.logData.metadata.stream !== 'vigil' && l.logData.level !== levelOf(Number(l.logData.metadata.seq)));
  t.equal(wrongLevel.length, 0, `${what}: every level right`);
}

t.test('10,000 lines while the gateway the client is on is killed', async (t) => {
  const COUNT = 10_000;
  const { gateways, ports, lb, startCollector } = await setup(t, COUNT, 25); // ~2,500 lines/s
  const main = subscriber(t, lb.url);
  const all = await collectLines(main, 'trace');
  const mainPort = ports.find((p) => lb.connectionsTo(p) === 1)!;
  const warnClient = subscriber(t, lb.url);
  const warn = await collectLines(warnClient, 'warn');

  startCollector();
  await waitFor(() => all.lines.length >= 3000, { timeoutMs: 30_000, message: '3,000 lines received' });
  const victim = gateways[ports.indexOf(mainPort)]!;
  await victim.stop('SIGKILL');
  const killedAt = all.lines.length;
  await waitFor(() => all.lines.filter((l) => l.logData.metadata.stream !== 'vigil').length >= COUNT, { timeoutMs: 60_000, message: 'all 10,000 lines' });
  const warnCount = Array.from({ length: COUNT }, (_, i) => i).filter((i) => meetsLevel(levelOf(i), 'warn')).length;
  await waitFor(() => warn.lines.filter((l) => l.logData.metadata.stream !== 'vigil').length >= warnCount, { timeoutMs: 30_000, message: 'the warn subscriber' });
  t.comment(`gateway killed after ${killedAt} lines; the client came back through the balancer`);
  checkExact(t, all.lines, COUNT, 'trace', 'the client whose gateway died');
  checkExact(t, warn.lines, COUNT, 'warn', 'the warn subscriber');
  t.same(all.gaps, [], 'no gap reported');
});

t.test('lines keep flowing across a 10 s Redis outage', async (t) => {
  const COUNT = 6000;
  const { redis, startCollector, lb } = await setup(t, COUNT, 3); // ~300 lines/s for ~20 s
  const client = subscriber(t, lb.url);
  const got = await collectLines(client, 'trace');
  startCollector();
  await waitFor(() => got.lines.length >= 1000, { timeoutMs: 30_000, message: 'lines before the outage' });
  await redis.stop();
  const stoppedAt = got.lines.length;
  await new Promise((r) => setTimeout(r, 10_000)); // the outage itself: a fixed 10 s, as the scenario says
  await redis.start();
  await waitFor(() => got.lines.filter((l) => l.logData.metadata.stream !== 'vigil').length >= COUNT, { timeoutMs: 60_000, message: 'all lines after the outage' });
  t.comment(`Redis stopped after ${stoppedAt} lines, for 10 s; the writer kept writing`);
  checkExact(t, got.lines, COUNT, 'trace', 'across the outage');
});
