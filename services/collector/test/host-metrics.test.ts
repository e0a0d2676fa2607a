// The collector samples its host: every interval a sample of the real /proc reaches Redis as
// history, latest value, broadcast to `system-metrics-<host>` (adapter wire format, position
// included) and host registry; start → stop → start works; config is checked.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  ErrorCodes,
  HOST_RETENTION_MS,
  HostKeys,
  NAMESPACE,
  ServerEvents,
  SystemMetricsBody,
  SystemMetricsEvent,
  comparePositions,
  compile,
  systemMetricsRoom,
} from '@vigil/protocol';
import { adapterChannel, closeRedis, createRedis } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { createCollector } from '../src/index.js';
import { loadConfig } from '../src/config.js';
import { collectorFor, redisFor, sinkLogger, streamEntries } from './fixtures.js';

const checkEvent = compile(SystemMetricsEvent);
const checkBody = compile(SystemMetricsBody);

t.test('host samples: history, latest, broadcast with position, registry; again after a restart', async (t) => {
  const { redis, r } = await redisFor(t);
  const sub = createRedis(redis.url, 'subscriber');
  t.teardown(() => closeRedis(sub));
  const heard: Array<{ event: string; payload: SystemMetricsEvent }> = [];
  const channel = adapterChannel(NAMESPACE, systemMetricsRoom('box-1'));
  sub.on('smessageBuffer', (ch: Buffer, message: Buffer) => {
    if (ch.toString() !== channel) return;
    const [event, payload] = (JSON.parse(message.toString()) as { data: { packet: { data: [string, SystemMetricsEvent] } } }).data.packet.data;
    heard.push({ event, payload });
  });
  await sub.ssubscribe(channel);

  const { collector } = collectorFor(t, redis.url, { host: 'box-1', collectorId: 'agent-a', self: { id: 'me', intervalMs: 60_000 }, targets: [], hostMetrics: { intervalMs: 200 } });
  await collector.start();
  await waitFor(() => heard.length >= 3, { timeoutMs: 15_000, message: 'three host samples broadcast' });

  for (const { event, payload } of heard) {
    t.equal(event, ServerEvents.systemMetricsUpdate);
    if (!checkEvent.check(payload)) t.fail(checkEvent.explain(payload)!);
  }
  const positions = heard.map((h) => h.payload.position);
  t.ok(positions.every((p, i) => i === 0 || comparePositions(p, positions[i - 1]!) > 0), 'positions only grow');
  const sample = heard.at(-1)!.payload;
  t.equal(sample.host, 'box-1');
  t.equal(sample.collectorId, 'agent-a');
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  t.equal(sample.data.memory.total, memTotalKb * 1024, 'memory total is the host MemTotal');
  t.equal(sample.data.cpu.count, cpus().length, 'one core per os.cpus() entry');
  t.equal(sample.data.mounts[0]?.path, '/', 'the root mount by default');

  const history = await streamEntries(r, HostKeys.metrics('box-1'));
  const stored = history.map(([id]) => id);
  t.ok(positions.every((p) => stored.includes(p)), 'every broadcast sample is in the history, under its position');
  t.ok(history.every(([, body]) => checkBody.check(body)), 'history bodies match the protocol');
  await waitFor(async () => {
    const latest = JSON.parse((await r.get(HostKeys.latest('box-1'))) ?? 'null') as SystemMetricsEvent | null;
    return latest !== null && checkEvent.check(latest) && comparePositions(latest.position, sample.position) >= 0;
  }, { message: 'the latest key holds the newest sample with its position' });
  const seen = Number(await r.zscore(HostKeys.registry, 'box-1'));
  t.ok(Date.now() - seen < 60_000, 'the host registry saw the host just now');
  t.ok(Number(await r.hget(HostKeys.collectors('box-1'), 'agent-a')) > 0, 'and which collector sampled it');
  for (const key of [HostKeys.latest('box-1'), HostKeys.metrics('box-1'), HostKeys.collectors('box-1')]) {
    const ttl = await r.pttl(key);
    t.ok(ttl > 0 && ttl <= HOST_RETENTION_MS, `${key} expires a retention after the last sample (${ttl} ms)`);
  }
  // A host nobody has sampled for longer than the retention leaves the registry at the next write.
  await r.zadd(HostKeys.registry, Date.now() - HOST_RETENTION_MS - 60_000, 'gone-host');
  await waitFor(async () => (await r.zscore(HostKeys.registry, 'gone-host')) === null, { message: 'a host not sampled for a retention is dropped from the registry' });
  t.ok((await r.zscore(HostKeys.registry, 'box-1')) !== null, 'a host sampled now stays');

  await collector.stop();
  const stoppedAt = await r.xlen(HostKeys.metrics('box-1'));
  t.equal(collector.stats().hostSamplesWritten >= 3, true, 'stats count the samples written');
  await collector.start();
  await waitFor(async () => (await r.xlen(HostKeys.metrics('box-1'))) > stoppedAt + 1, { timeoutMs: 15_000, message: 'samples again after a restart' });
  await collector.stop();
});

t.test('hostMetrics.enabled false: nothing is written about the host', async (t) => {
  const { redis, r } = await redisFor(t);
  const { collector } = collectorFor(t, redis.url, { host: 'box-2', self: { id: 'me2', intervalMs: 100 }, targets: [], hostMetrics: { enabled: false } });
  await collector.start();
  await waitFor(async () => (await r.exists('vigil:srv:{me2}:latest')) === 1, { message: 'the collector ticks' });
  t.equal(await r.exists(HostKeys.latest('box-2'), HostKeys.metrics('box-2')), 0);
  t.equal(await r.zcard(HostKeys.registry), 0);
  t.equal(collector.stats().hostSamplesWritten, 0);
});

t.test('a host name that cannot name a room: off by default with a warning, an error when asked for', async (t) => {
  const { logger, lines } = sinkLogger();
  const base = { redisUrl: 'redis://127.0.0.1:1', collectorId: 'c', host: 'my box', logger, targets: [], self: { id: 'x' } };
  createCollector(base);
  t.ok(lines.some((l) => l.code === ErrorCodes.CONFIG_INVALID && /host metrics are off/.test(l.msg)), 'the default turns off, said out loud');
  t.throws(() => createCollector({ ...base, hostMetrics: { enabled: true } }), { code: ErrorCodes.CONFIG_INVALID, message: /^host: "my box" cannot name/ });
});

t.test('hostMetrics in the config file is checked field by field', async (t) => {
  const load = (hostMetrics: unknown) =>
    loadConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => JSON.stringify({ self: { id: 'me' }, hostMetrics }) });
  t.same(load({ intervalMs: 1000, mounts: ['/', '/var'], excludeInterfaces: ['lo', 'docker0'] }).hostMetrics, { intervalMs: 1000, mounts: ['/', '/var'], excludeInterfaces: ['lo', 'docker0'] });
  t.throws(() => load({ intervalMs: 5 }), { code: ErrorCodes.CONFIG_INVALID, message: /^hostMetrics\.intervalMs: / });
  t.throws(() => load({ mounts: ['relative'] }), { code: ErrorCodes.CONFIG_INVALID, message: /^hostMetrics\.mounts\[0\]: / });
  t.throws(() => load({ mounts: Array.from({ length: 40 }, (_, i) => `/m${i}`) }), { code: ErrorCodes.CONFIG_INVALID, message: /^hostMetrics\.mounts: / });
  t.throws(() => load({ everything: true }), { code: ErrorCodes.CONFIG_INVALID, message: /^hostMetrics/ });
});

t.test('--no-host-metrics turns host sampling off, over what the config file says', async (t) => {
  const load = (argv: string[], hostMetrics?: unknown) =>
    loadConfig({ argv: ['--config', 'c.json', ...argv], env: {}, readFile: () => JSON.stringify({ self: { id: 'me' }, ...(hostMetrics ? { hostMetrics } : {}) }) });
  t.equal(load([]).hostMetrics, undefined, 'no flag, nothing in the file: the default (on)');
  t.same(load(['--no-host-metrics']).hostMetrics, { enabled: false }, 'the flag alone: off');
  t.same(load(['--no-host-metrics'], { enabled: true, intervalMs: 1000 }).hostMetrics, { enabled: false, intervalMs: 1000 }, 'the flag over a file that turns it on');
});

t.test('a sample missed while Redis was away is taken as soon as it is back, not an interval later', async (t) => {
  const { redis, r } = await redisFor(t);
  await redis.stop();
  const { collector } = collectorFor(t, redis.url, { host: 'box-3', self: { id: 'me3', intervalMs: 60_000 }, targets: [], hostMetrics: { intervalMs: 3_600_000 } });
  await collector.start();
  await waitFor(() => collector.stats().hostSamplesDropped >= 1, { message: 'the first sample dropped: no Redis' });
  await redis.start();
  // Counted once its whole write (sample, then registry and expiries) is done: the key shows first.
  await waitFor(async () => collector.stats().hostSamplesWritten >= 1 && (await r.exists(HostKeys.latest('box-3'))) === 1, {
    timeoutMs: 20_000,
    message: 'a host sample once Redis is back (the interval is an hour)',
  });
  t.equal(collector.stats().hostSamplesWritten, 1, 'one sample: the one retaken at once, not another an hour later');
});
