// Alert rules in the collector: checked at load with the field named, evaluated once per state
// change (not once per tick), and carried across a restart of the collector through the firing
// record in Redis: still true fires nothing new, no longer true is resolved once, a rule taken out
// of the config is resolved at start.
import t from 'tap';
import pidusage from 'pidusage';
import { AlertKeys, ErrorCodes, Keys, STREAM_FIELD, type AlertBody } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { SampleFn } from '../src/sampler.js';
import { createCollector } from '../src/collector.js';
import { loadConfig } from '../src/config.js';
import { collectorFor, redisFor, sinkLogger, spawnChild } from './fixtures.js';

t.test('rules are checked at load, naming the field', async (t) => {
  const { logger } = sinkLogger();
  const make = (alerts: unknown[], defaults: unknown[] = []) => () =>
    createCollector({
      redisUrl: 'redis://127.0.0.1:1',
      collectorId: 'c',
      host: 'h',
      logger,
      targets: [{ id: 'api', pid: 1, alerts } as never],
      alertDefaults: defaults as never,
    });
  const cpu = { id: 'cpu', kind: 'cpu', abovePercent: 90 };
  t.throws(make([cpu, cpu]), { code: ErrorCodes.CONFIG_INVALID, message: /^targets\[0\]\.alerts\[1\]\.id: duplicate rule id "cpu"/ });
  t.throws(make([{ ...cpu, id: 'stale' }]), { message: /^targets\[0\]\.alerts\[0\]\.id: "stale" is raised by gateways/ });
  t.throws(make([{ id: 'e', kind: 'logs', moreThan: 1, windowMs: 1000, pattern: '(a+)+$' }]), { message: /^targets\[0\]\.alerts\[0\]\.pattern: backtracks catastrophically/ });
  t.throws(make([{ id: 'e', kind: 'logs', moreThan: 1, windowMs: 1000, pattern: '(' }]), { message: /^targets\[0\]\.alerts\[0\]\.pattern: invalid regular expression/ });
  t.throws(make([{ id: 'x', kind: 'disk' }]), { code: ErrorCodes.CONFIG_INVALID, message: 'targets[0].alerts[0].kind: expected one of cpu, memory, exited, restarts, logs' });
  t.throws(make([{ ...cpu, abovePercent: 'high' }]), { message: /^targets\[0\]\.alerts\[0\]\.abovePercent: Expected number/ });
  t.throws(make([], [{ id: 'r', kind: 'restarts', moreThan: 1, windowMs: 10 }]), { code: ErrorCodes.CONFIG_INVALID, message: /alertDefaults/ });
  // A target's rule with a default's id replaces it: no duplicate.
  t.doesNotThrow(make([cpu], [cpu]));

  const config = loadConfig({
    argv: ['--config', 'c.json'],
    env: {},
    readFile: () => JSON.stringify({ defaults: { alerts: [{ id: 'down', kind: 'exited' }] }, targets: [{ id: 'api', pid: 1, alerts: [cpu] }] }),
  });
  t.same(config.alertDefaults, [{ id: 'down', kind: 'exited' }], 'defaults.alerts from the file');
  t.same(config.targets[0]!.alerts, [cpu], 'a target keeps its rules');
  t.throws(
    () => loadConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => JSON.stringify({ defaults: { alerts: [{ id: 'd', kind: 'exited', forMs: -1 }] } }) }),
    { code: ErrorCodes.CONFIG_INVALID, message: /^defaults\.alerts\[0\]\.forMs: Expected integer to be greater or equal to 0/ },
  );
});

t.test('a memory rule fires once, survives a collector restart, and resolves once', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  // Real samples of a real process, with the RSS the test says.
  let rss = 500 * 1024 * 1024;
  const sample: SampleFn = async (pids, options) => {
    const out = await (pidusage as unknown as SampleFn)(pids, options);
    for (const stat of Object.values(out)) if (stat) stat.memory = rss;
    return out;
  };
  const rule = { id: 'rss', kind: 'memory', aboveBytes: 100 * 1024 * 1024, forMs: 300, severity: 'critical' } as const;
  const setup = { targets: [{ id: 'api', pid: child.pid, intervalMs: 100, alerts: [rule] }], sample };
  const first = collectorFor(t, redis.url, setup).collector;
  const events = async () =>
    ((await r.xrange(AlertKeys.stream, '-', '+')) as [string, string[]][]).map(([, f]) => JSON.parse(f[f.indexOf(STREAM_FIELD) + 1]!) as AlertBody);
  const ticks = async () => Number(await r.xlen('vigil:srv:{api}:metrics'));

  await first.start();
  await waitFor(async () => (await events()).length === 1, { message: 'rss firing' });
  const fired = (await events())[0]!;
  t.match(fired, { id: 'api/rss', rule: 'rss', severity: 'critical', serverId: 'api', host: 'h', state: 'firing', value: rss });
  t.match(fired.message, /^rss: RSS 500\.0 MiB above 100\.0 MiB for 0\.3 s$/);
  const after = await ticks();
  await waitFor(async () => (await ticks()) >= after + 5, { message: 'five more ticks' });
  t.equal((await events()).length, 1, 'still true on later ticks: nothing new');

  // A restart while it fires: taken over, not raised again.
  await first.stop();
  const second = collectorFor(t, redis.url, setup).collector;
  await second.start();
  const resumed = await ticks();
  await waitFor(async () => (await ticks()) >= resumed + 5, { message: 'five ticks after the restart' });
  t.equal((await events()).length, 1, 'a restart neither repeats nor loses the firing alert');
  t.ok(await r.hexists(AlertKeys.firing, 'api/rss'), 'the firing record holds it');

  // Under the threshold: resolved once, with the firing's `since`.
  rss = 50 * 1024 * 1024;
  await waitFor(async () => (await events()).length === 2, { message: 'rss resolved' });
  const resolved = (await events())[1]!;
  t.match(resolved, { id: 'api/rss', state: 'resolved', since: fired.since, value: rss });
  t.notOk(await r.hexists(AlertKeys.firing, 'api/rss'), 'no longer in the firing record');
  await second.stop();

  // Firing again, then restarted without the rule: resolved at start as no longer configured.
  rss = 500 * 1024 * 1024;
  const third = collectorFor(t, redis.url, setup).collector;
  await third.start();
  await waitFor(async () => (await events()).length === 3, { message: 'rss firing again' });
  await third.stop();
  const fourth = collectorFor(t, redis.url, { ...setup, targets: [{ id: 'api', pid: child.pid, intervalMs: 100, alerts: [{ id: 'down', kind: 'exited' }] }] }).collector;
  await fourth.start();
  await waitFor(async () => (await events()).length === 4, { message: 'resolved at start' });
  t.match((await events())[3], { id: 'api/rss', state: 'resolved', message: 'rss: rule no longer configured' });
});

t.test('a collector that stops changes no alert: an exited process stays exited, not "running again"', async (t) => {
  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  const setup = { targets: [{ id: 'api', pid: child.pid, intervalMs: 100, alerts: [{ id: 'down', kind: 'exited', severity: 'critical' }] }] };
  const { collector } = collectorFor(t, redis.url, setup as never);
  const events = async () =>
    ((await r.xrange(AlertKeys.stream, '-', '+')) as [string, string[]][]).map(([, f]) => JSON.parse(f[f.indexOf(STREAM_FIELD) + 1]!) as AlertBody);
  await collector.start();
  await child.kill();
  await waitFor(async () => (await events()).length === 1, { message: 'down firing' });
  t.match((await events())[0], { id: 'api/down', state: 'firing' });
  await collector.stop();
  const entry = JSON.parse((await r.hget(Keys.registry, 'api'))!) as { status: string };
  t.equal(entry.status, 'stopped', 'the server was marked stopped');
  t.same((await events()).map((e) => `${e.id} ${e.state}`), ['api/down firing'], 'no resolution was written');
  t.ok(await r.hexists(AlertKeys.firing, 'api/down'), 'still firing');
});
