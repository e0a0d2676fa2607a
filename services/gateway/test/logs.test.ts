// Logs through the gateway: level rooms (each line once to each subscriber whose level it
// meets), replay after a position with no gap and no duplicate at the seam with live lines,
// backfill, gaps, caps, unsubscribing, and the REST history.
import t from 'tap';
import { ErrorCodes, LOG_LEVELS, ServerEvents, comparePositions, meetsLevel, type LogLevel, type ProcessLogsEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { collect, connectClient, emitAck, startStack } from './helpers.js';

type LogsAck = { ok: boolean; room: string; level: string; replayed: number; gap: boolean; more: boolean; next?: string; head?: string; error?: { code: string } };

const levelOf = (i: number): LogLevel => LOG_LEVELS[i % LOG_LEVELS.length]!;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => ({ level: levelOf(from + k), message: `line ${from + k}` }));


t.test('each line reaches each subscriber whose level it meets, once, on any gateway', async (t) => {
  const { gws, collector } = await startStack(t, { gateways: 2 });
  await collector.register('api');
  const subs: Array<{ level: LogLevel; got: ProcessLogsEvent[] }> = [];
  for (const [i, level] of (['trace', 'info', 'warn', 'fatal'] as const).entries()) {
    const c = await connectClient(gws[i % 2]!.url);
    t.teardown(() => c.close());
    const got = collect<ProcessLogsEvent>(c, ServerEvents.processLogs);
    const ack = await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'api', level });
    t.match(ack, { ok: true, room: 'server-logs-api', level, replayed: 0, gap: false });
    t.notOk('head' in ack, 'an empty stream has no head');
    subs.push({ level, got });
  }
  const written = lines(0, 120);
  const positions = await collector.lines('api', written);
  for (const s of subs) {
    const expected = written.map((l, i) => ({ ...l, position: positions[i]! })).filter((l) => meetsLevel(l.level, s.level));
    await waitFor(() => s.got.length >= expected.length, { message: `${s.level} subscriber to get its lines` });
    t.same(
      s.got.map((e) => [e.position, e.logData.level, e.logData.message]),
      expected.map((e) => [e.position, e.level, e.message]),
      `the ${s.level} subscriber got exactly the lines at ${s.level} and above, once each, in order`,
    );
  }
});

t.test('since: replay after a position, then live, with no gap and no duplicate while lines keep flowing', async (t) => {
  const { gws, collector } = await startStack(t);
  const first = await collector.lines('api', lines(0, 200));
  // A writer keeps going while the client subscribes.
  let n = 200;
  let writing = true;
  const all = [...first];
  const writer = (async () => {
    while (writing && n < 2000) {
      all.push(...(await collector.lines('api', lines(n, n + 10))));
      n += 10;
    }
  })();
  const c = await connectClient(gws[0]!.url);
  t.teardown(() => c.close());
  const got = collect<ProcessLogsEvent>(c, ServerEvents.processLogs);
  const since = first[49]!;
  const ack = await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'api', since });
  t.match(ack, { ok: true, gap: false, more: false });
  t.ok(ack.head && comparePositions(ack.head, since) > 0, 'the ack says up to where history is covered');
  t.ok(ack.replayed >= 150, `replayed the history after the position (${ack.replayed} lines)`);
  await waitFor(() => n >= 600, { message: 'more live lines' });
  writing = false;
  await writer;
  const expected = all.filter((p) => comparePositions(p, since) > 0);
  await waitFor(() => got.length >= expected.length, { message: 'every line after since' });
  const received = got.map((e) => e.position);
  t.equal(new Set(received).size, received.length, 'no line arrived twice');
  t.same([...received].sort(comparePositions), expected, 'the union is exactly the lines after `since`: no gap');
});

t.test('backfill sends the last lines at the level; level changes replace the rooms', async (t) => {
  const { gws, collector } = await startStack(t);
  const positions = await collector.lines('api', lines(0, 60));
  const c = await connectClient(gws[0]!.url);
  t.teardown(() => c.close());
  const got = collect<ProcessLogsEvent>(c, ServerEvents.processLogs);
  const ack = await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'api', level: 'error', backfill: 5 });
  t.match(ack, { ok: true, replayed: 5 });
  const errorsAndUp = positions.filter((_, i) => meetsLevel(levelOf(i), 'error'));
  await waitFor(() => got.length === 5);
  t.same(got.map((e) => e.position), errorsAndUp.slice(-5), 'the five newest lines at error and above, oldest first');

  const status = await emitAck<{ subscribedRooms: string[] }>(c, 'get-connection-status');
  t.same(status.subscribedRooms, ['server-logs-api'], 'one logical room, whatever the level rooms');
  t.match(await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'api', level: 'fatal' }), { ok: true, level: 'fatal' });
  got.length = 0;
  const more = await collector.lines('api', [{ level: 'error', message: 'an error' }, { level: 'fatal', message: 'a fatal' }]);
  await waitFor(() => got.length === 1);
  t.equal(got[0]!.position, more[1], 'after moving to fatal, error lines no longer arrive');

  t.match(await emitAck(c, 'unsubscribe', { room: 'server-logs-api' }), { ok: true, room: 'server-logs-api', wasSubscribed: true });
  await collector.lines('api', [{ level: 'fatal', message: 'unheard' }]);
  await collector.register('other');
  t.match(await emitAck(c, 'subscribe-server-logs', { serverId: 'other' }), { ok: true }, 'the connection still works');
  t.equal(got.length, 1, 'nothing after unsubscribing');
  t.match(await emitAck(c, 'unsubscribe-server-logs', { serverId: 'other' }), { ok: true, wasSubscribed: true });
});

t.test('since older than the kept history: gap reported; a replay past the cap says where to go on', async (t) => {
  const { gws, collector } = await startStack(t);
  const c = await connectClient(gws[0]!.url);
  t.teardown(() => c.close());
  const early = await collector.lines('gappy', lines(0, 10), 100);
  for (let i = 0; i < 5; i++) await collector.lines('gappy', lines(10 + i * 200, 210 + i * 200), 100);
  const gapAck = await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'gappy', since: early[0]! });
  t.match(gapAck, { ok: true, gap: true }, 'lines after `since` were trimmed: the ack says so');
  const kept = (await gws[0]!.inject('/api/servers/gappy/logs?limit=5')).json().items as ProcessLogsEvent[];
  const noGap = await emitAck<LogsAck>(c, 'subscribe-server-logs', { serverId: 'gappy', since: kept[0]!.position });
  t.match(noGap, { ok: true, gap: false, replayed: 4 }, 'resuming inside the kept history is no gap');

  const big: string[] = [];
  for (let i = 0; i < 11; i++) big.push(...(await collector.lines('big', lines(i * 1000, (i + 1) * 1000), 20_000)));
  const c2 = await connectClient(gws[0]!.url);
  t.teardown(() => c2.close());
  const got = collect<ProcessLogsEvent>(c2, ServerEvents.processLogs);
  const first = await emitAck<LogsAck>(c2, 'subscribe-server-logs', { serverId: 'big', since: big[0]! });
  t.match(first, { ok: true, replayed: 10_000, more: true, next: big[10_000] }, 'capped at 10,000 with where to continue');
  const second = await emitAck<LogsAck>(c2, 'subscribe-server-logs', { serverId: 'big', since: first.next });
  t.match(second, { ok: true, replayed: big.length - 10_001, more: false });
  await waitFor(() => got.length === big.length - 1);
  t.same(got.map((e) => e.position), big.slice(1), 'the two replays together are every line after `since`');
});

t.test('REST log history: newest page, scrolling up, resuming after a position, level filter', async (t) => {
  const { gws, collector } = await startStack(t);
  const app = gws[0]!;
  const positions = await collector.lines('web', lines(0, 300));
  const newest = (await app.inject('/api/servers/web/logs?limit=50')).json();
  t.same(newest.items.map((i: ProcessLogsEvent) => i.position), positions.slice(-50), 'the newest 50, oldest first');
  const older = (await app.inject(`/api/servers/web/logs?limit=50&before=${newest.items[0].position}`)).json();
  t.same(older.items.map((i: ProcessLogsEvent) => i.position), positions.slice(-100, -50), 'scrolling up gets the 50 before');
  const after = (await app.inject(`/api/servers/web/logs?since=${positions[279]}&limit=100`)).json();
  t.same(after.items.map((i: ProcessLogsEvent) => i.position), positions.slice(280));
  t.equal(after.gap, false);
  t.equal(after.next, null);
  const warn = (await app.inject('/api/servers/web/logs?level=warn&limit=1000')).json();
  t.same(warn.items.map((i: ProcessLogsEvent) => i.position), positions.filter((_, i) => meetsLevel(levelOf(i), 'warn')));
  for (const bad of ['level=loud', 'since=x', 'limit=0', `since=${positions[0]}&before=${positions[1]}`]) {
    const res = await app.inject(`/api/servers/web/logs?${bad}`);
    t.equal(res.statusCode, 400, `${bad} is refused`);
    t.equal(res.json().error.code, ErrorCodes.INVALID_QUERY);
  }
});
