// The retention: which servers it removes (exited, stopped or stale, silent for longer than the
// retention), and that with two gateways sweeping, each such server is removed and announced once.
import t from 'tap';
import { Keys, ServerEvents, type ServerRemoved } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { isExpired, sweepEvery } from '../src/retention-sweeper.js';
import { collect, emitAck, registryEntry, startStack } from './helpers.js';

t.test('isExpired: gone and silent for longer than the retention', async (t) => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const retention = 60_000;
  const trace = (status: string, heartbeatAgoMs: number | null, overrides: Record<string, unknown> = {}) => ({
    serverId: 's',
    entry: JSON.stringify(registryEntry('s', { status: status as 'running', staleAfterMs: 3000, updatedAt: new Date(now - 90_000).toISOString(), ...overrides })),
    heartbeatAt: heartbeatAgoMs === null ? null : now - heartbeatAgoMs,
  });
  const cases: Array<[string, ReturnType<typeof trace> | { serverId: string; entry: string | null; heartbeatAt: number | null }, boolean]> = [
    ['stopped, silent 61 s', trace('stopped', 61_000), true],
    ['stopped, silent 59 s', trace('stopped', 59_000), false],
    ['exited, silent 61 s', trace('exited', 61_000), true],
    ['exited but its collector still heartbeats', trace('exited', 500), false],
    ['running, silent 61 s: stale', trace('running', 61_000), true],
    ['running and heartbeating', trace('running', 500), false],
    ['running, silent 61 s but stale only after 120 s', trace('running', 61_000, { staleAfterMs: 120_000 }), false],
    ['no heartbeat: judged by updatedAt (90 s ago)', trace('stopped', null), true],
    ['no heartbeat, updatedAt 30 s ago', trace('stopped', null, { updatedAt: new Date(now - 30_000).toISOString() }), false],
    ['a heartbeat with no registry entry, silent 61 s', { serverId: 's', entry: null, heartbeatAt: now - 61_000 }, true],
    ['a malformed entry and no heartbeat: nothing says when', { serverId: 's', entry: '{"nope"', heartbeatAt: null }, false],
  ];
  for (const [what, tr, expired] of cases) t.equal(isExpired(tr, retention, now), expired, what);
  t.equal(sweepEvery(86_400_000), 60_000, 'a day of retention: swept every minute');
  t.equal(sweepEvery(1000), 500, 'a second: every half second');
});

t.test('two gateways sweep: a stopped server is removed and announced once, a live one stays', async (t) => {
  const stack = await startStack(t, { gateways: 2, gateway: { serverRetentionMs: 1000, refuseUnknownServers: false } });
  const [a, b] = stack.pair();
  const r = stack.collector.redis;
  await stack.collector.sample('left-1', 1, { status: 'stopped' });
  await stack.collector.lines('left-1', [{ level: 'warn', message: 'bye' }]);
  await stack.collector.sample('live-1', 1, { staleAfterMs: 600_000 });
  const watchers = [await stack.client(a), await stack.client(b)];
  const removed = watchers.map((w) => collect<ServerRemoved>(w, ServerEvents.serverRemoved));
  for (const w of watchers) t.match(await emitAck(w, 'subscribe-server-metrics', { serverId: 'left-1' }), { ok: true });
  t.match(await emitAck(watchers[0]!, 'subscribe-server-logs', { serverId: 'left-1' }), { ok: true });

  await waitFor(async () => (await r.hexists(Keys.registry, 'left-1')) === 0, { timeoutMs: 20_000, message: 'the stopped server removed' });
  await waitFor(() => removed.every((x) => x.length >= 1), { message: 'both watchers told' });
  // A second server leaves and is removed: later sweeps have run, and nothing more came of left-1.
  for (const w of watchers) t.match(await emitAck(w, 'subscribe-server-metrics', { serverId: 'left-2' }), { ok: true });
  await stack.collector.sample('left-2', 1, { status: 'exited' });
  await waitFor(() => removed.every((x) => x.some((e) => e.serverId === 'left-2')), { timeoutMs: 20_000, message: 'left-2 removed too' });
  for (const x of removed) t.match(x.filter((e) => e.serverId === 'left-1'), [{ serverId: 'left-1', reason: 'retention' }], 'left-1 told once');
  t.equal((await r.scan('0', 'MATCH', '*left-1*', 'COUNT', 1000))[1].length, 0, 'no key of it is left');
  t.equal(await r.zscore(Keys.heartbeats, 'left-1'), null);
  t.equal(await r.hexists(Keys.registry, 'live-1'), 1, 'a running, not stale server stays, however old its heartbeat');
  t.equal((await a.inject('/api/servers/left-1')).statusCode, 404);
});
