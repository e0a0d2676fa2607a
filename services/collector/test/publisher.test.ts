// The publisher against a fake writer: what one tick writes (validated against the protocol
// schemas), and what an outage costs: samples dropped and counted, status events queued
// (bounded, oldest dropped first) and sent first, in order, when a write gets through.
import t from 'tap';
import { ErrorCodes, Keys, NAMESPACE, ServerEvents, VigilError, metricsRoom } from '@vigil/protocol';
import { adapterChannel, bodyText, type Batch } from '@vigil/store';
import { PENDING_EVENTS_MAX, Publisher, REGISTRY_REFRESH_MS, type Counters } from '../src/publisher.js';
import type { Observation } from '../src/sampler.js';
import { ServerState, type ServerReport } from '../src/server-state.js';
import { checkInfoBody, checkRegistry, checkStatusEvent, sinkLogger } from './fixtures.js';

const AT = Date.UTC(2026, 10, 21, 12, 0, 0);

function obs(pid: number): Observation {
  return { pid, key: `${pid}@0`, startKey: 0, cpu: 12.34, rss: 4096, elapsedMs: 61_500, at: AT, startedAt: AT - 61_500 };
}

function setup() {
  const counters: Counters = { ticks: 0, samplesWritten: 0, samplesDropped: 0, eventsDropped: 0, writeFailures: 0 };
  const written: Batch[] = [];
  let failing = false;
  const { logger, lines } = sinkLogger();
  const publisher = new Publisher({
    writer: {
      async write(tick) {
        if (failing) throw new VigilError(ErrorCodes.REDIS_WRITE_FAILED, 'tick write failed: Connection is closed.');
        written.push(tick);
        return tick.appends.map((_, i) => `${AT}-${i}`);
      },
    },
    isConnected: () => !failing,
    collectorId: 'c1',
    host: 'h1',
    historyMaxLen: 720,
    logger,
    counters,
  });
  return { publisher, counters, written, lines, fail: (on: boolean) => (failing = on) };
}

function running(id: string, pid: number): ServerReport {
  const s = new ServerState(id, id, 1000);
  const o = obs(pid);
  return { server: s, sample: o, change: s.adopt(o) };
}

function exiting(report: ServerReport): ServerReport {
  return { server: report.server, sample: null, change: report.server.exit('process exited') };
}

t.test('one tick: events, samples, registry and heartbeats, each valid', async (t) => {
  const { publisher, written, counters } = setup();
  await publisher.publish([running('api', 10), running('web.2', 11)], AT);
  t.equal(written.length, 1, 'one write');
  const tick = written[0]!;
  t.same(
    tick.appends.map((a) => [a.stream, a.latestKey]),
    [
      [Keys.events('api'), null],
      [Keys.events('web.2'), null],
      [Keys.metrics('api'), Keys.latest('api')],
      [Keys.metrics('web.2'), Keys.latest('web.2')],
    ],
    'status events first, then samples',
  );
  for (const a of tick.appends) {
    const body = JSON.parse(bodyText(a.body));
    const serverId = body.serverId as string;
    t.equal(a.frame.channel, adapterChannel(NAMESPACE, metricsRoom(serverId)));
    if (a.stream.endsWith(':events')) {
      t.ok(checkStatusEvent.check(body), checkStatusEvent.explain(body) ?? 'status body valid');
      t.match(a.frame.prefix, ServerEvents.serverStatusChanged);
      t.equal(a.maxLen, 1000);
    } else {
      t.ok(checkInfoBody.check(body), checkInfoBody.explain(body) ?? 'sample body valid');
      t.match(a.frame.prefix, ServerEvents.processInfo);
      t.same(body.processInfo, { pid: body.processInfo.pid, cpu: 12.34, memory: { rss: 4096, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: 61, timestamp: new Date(AT).toISOString() });
      t.equal(a.maxLen, 720);
    }
    t.match(a.frame.prefix, '"uid":"vigil-collector:c1"');
  }
  for (const r of tick.registry) {
    const entry = JSON.parse(r.entry);
    t.ok(checkRegistry.check(entry), checkRegistry.explain(entry) ?? 'registry entry valid');
    t.equal(entry.staleAfterMs, 3000);
  }
  t.same(tick.heartbeats, [{ serverId: 'api', at: AT }, { serverId: 'web.2', at: AT }]);
  t.equal(counters.samplesWritten, 2);
});

t.test('frames are built once per server', async (t) => {
  const { publisher, written } = setup();
  const r = running('api', 10);
  await publisher.publish([r], AT);
  await publisher.publish([{ ...r, change: null }], AT);
  t.equal(written[0]!.appends[1]!.frame, written[1]!.appends[0]!.frame, 'the same frame object');
});

t.test('outage: samples dropped, events kept and sent first in order, logged once each way', async (t) => {
  const { publisher, written, counters, lines, fail } = setup();
  const api = running('api', 10);
  await publisher.publish([api], AT);
  fail(true);
  await publisher.publish([exiting(api)], AT + 1000);
  const web = running('web', 20);
  await publisher.publish([web], AT + 2000);
  await publisher.publish([{ ...web, change: null }], AT + 3000);
  t.equal(counters.writeFailures, 3);
  t.equal(counters.samplesDropped, 2);
  t.equal(publisher.pendingEvents, 2);
  t.equal(lines.filter((l) => l.code === ErrorCodes.REDIS_WRITE_FAILED).length, 1, 'one warning per outage');
  fail(false);
  await publisher.publish([{ ...web, change: null }], AT + 4000);
  const tick = written[written.length - 1]!;
  t.same(
    tick.appends.map((a) => [a.stream, JSON.parse(bodyText(a.body)).status ?? 'sample']),
    [
      [Keys.events('api'), 'exited'],
      [Keys.events('web'), 'running'],
      [Keys.metrics('web'), 'sample'],
    ],
    'queued events first, in order, then this tick',
  );
  t.equal(publisher.pendingEvents, 0);
  const recovered = lines.find((l) => l.msg === 'redis writes succeed again');
  t.match(recovered, { samplesDropped: 2, eventsFlushed: 2 }, 'recovery is logged with what was dropped');
});

t.test('the event queue is bounded: the oldest go, counted and logged', async (t) => {
  const { publisher, written, counters, lines, fail } = setup();
  fail(true);
  const extra = 5;
  for (let i = 0; i < PENDING_EVENTS_MAX + extra; i++) await publisher.publish([running(`s${i}`, 100 + i)], AT);
  t.equal(publisher.pendingEvents, PENDING_EVENTS_MAX);
  t.equal(counters.eventsDropped, extra);
  t.equal(lines.filter((l) => l.code === ErrorCodes.EVENTS_DROPPED).length, 1, 'logged once');
  fail(false);
  await publisher.publish([], AT);
  const first = JSON.parse(bodyText(written[0]!.appends[0]!.body));
  t.equal(first.serverId, `s${extra}`, 'the oldest were dropped');
  publisher.discardPending();
  t.equal(counters.eventsDropped, extra, 'nothing left to discard after a flush');
});

t.test('stopping with queued events counts them as dropped', async (t) => {
  const { publisher, counters, lines, fail } = setup();
  fail(true);
  await publisher.publish([running('api', 10)], AT);
  publisher.discardPending();
  t.equal(counters.eventsDropped, 1);
  t.ok(lines.some((l) => l.code === ErrorCodes.EVENTS_DROPPED));
});

t.test('a registry entry is written when what it says changes, and every REGISTRY_REFRESH_MS anyway', async (t) => {
  const { publisher, written, fail } = setup();
  const api = running('api', 10);
  const entries = () => written[written.length - 1]!.registry.map((r) => JSON.parse(r.entry) as Record<string, unknown>);
  const tick = async (report: ServerReport, at: number) => publisher.publish([report], at);
  await tick(api, AT);
  t.match(entries(), [{ serverId: 'api', pid: 10, status: 'running', command: null, updatedAt: new Date(AT).toISOString() }], 'first tick: written');
  await tick({ ...api, change: null }, AT + 1000);
  t.same(entries(), [], 'unchanged: not written again');
  api.server.command = 'node api.js';
  api.server.commandKey = api.sample!.key;
  await tick({ ...api, change: null }, AT + 2000);
  t.match(entries(), [{ command: 'node api.js', updatedAt: new Date(AT + 2000).toISOString() }], 'command read: written');
  const next = obs(12);
  next.key = '12@5000';
  const restarted: ServerReport = { server: api.server, sample: next, change: api.server.adopt(next) };
  await tick(restarted, AT + 3000);
  t.match(entries(), [{ pid: 12, status: 'restarted', restarts: 1 }], 'restart: written');
  await tick({ ...restarted, change: null }, AT + 3000 + REGISTRY_REFRESH_MS - 1);
  t.same(entries(), [], 'not before the refresh period');
  await tick({ ...restarted, change: null }, AT + 3000 + REGISTRY_REFRESH_MS);
  t.match(entries(), [{ pid: 12, updatedAt: new Date(AT + 3000 + REGISTRY_REFRESH_MS).toISOString() }], 'refreshed');
  await tick(exiting(restarted), AT + 20_000);
  t.match(entries(), [{ pid: 12, status: 'exited', restarts: 1 }], 'exit: written');
  fail(true);
  await tick({ server: api.server, sample: null, change: null }, AT + 21_000);
  fail(false);
  await tick({ server: api.server, sample: null, change: null }, AT + 22_000);
  t.match(entries(), [{ serverId: 'api', status: 'exited' }], 'after a failed write: written again (Redis may have lost it)');
  const whole = entries()[0]!;
  t.same(whole, publisher.registryEntry(api.server, new Date(AT + 22_000).toISOString()), 'the entry is registryEntry() as JSON');
});
