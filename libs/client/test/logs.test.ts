// Logs through the client against real gateways and Redis: no line lost or repeated across a
// gateway switch, backfill and since, the level filter and level changes, gaps reported, capped
// replays followed to the end, and resuming with nothing delivered yet.
import t from 'tap';
import { LOG_LEVELS, type LogLevel, type ProcessLogsEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { ClientErrorCodes, type GapInfo } from '../src/index.js';
import { Publisher, startBalancedPair, startCluster, stateNames, type LogSpec } from './fixtures/cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const positions = (lines: ProcessLogsEvent[]) => lines.map((l) => l.position);
const messages = (lines: ProcessLogsEvent[]) => lines.map((l) => l.logData.message);
const line = (level: LogLevel, message: string): LogSpec => ({ level, message });

async function publishMany(publisher: Publisher, serverId: string, count: number, options: { maxLen?: number; prefix?: string } = {}): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch: LogSpec[] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) batch.push(line(LOG_LEVELS[i % 6]!, `${options.prefix ?? 'l'}${i + 1}`));
    out.push(...(await publisher.logs(serverId, batch, options.maxLen)));
  }
  return out;
}

t.test('lines published while the client switches gateways: exactly the published lines, in order, no gap, none twice', async (t) => {
  const { publisher, client, states, split } = await startBalancedPair(t);
  const got: ProcessLogsEvent[] = [];
  const gaps: GapInfo[] = [];
  await client.subscribeLogs('app', { onLine: (e) => got.push(e), onGap: (g) => gaps.push(g) });

  const published: string[] = [];
  let stop = false;
  const TOTAL = 600;
  const pumping = (async () => {
    for (let i = 1; i <= TOTAL && !stop; i++) {
      published.push(...(await publisher.logs('app', [line(LOG_LEVELS[i % 6]!, `line ${i}`)])));
      await sleep(2);
    }
  })();
  t.teardown(async () => {
    stop = true;
    await pumping;
  });
  await waitFor(() => got.length >= 100, { message: 'lines before the switch' });
  const [mine, other] = split();
  const closing = published.length;
  await mine.close();
  await waitFor(() => other.clients() === 1 && client.state.name === 'connected', { message: 'on the other gateway' });
  const back = published.length;
  await pumping;
  await waitFor(() => got.length >= published.length, { timeoutMs: 15_000, message: `all ${published.length} lines` });
  await sleep(100); // anything extra (a duplicate) would show up now

  t.ok(back > closing, `lines were published while the client was switching (${back - closing})`);
  t.equal(published.length, TOTAL);
  t.same(positions(got), published, 'exactly the published lines, in publication order');
  t.same(gaps, [], 'no gap reported');
  t.same(stateNames(states), ['connected', 'reconnecting', 'connected']);
});

t.test('backfill and since', async (t) => {
  const { publisher, client, startClient } = await startCluster(t);
  const history = await publisher.logs('bf', Array.from({ length: 20 }, (_, i) => line('info', `l${i + 1}`)));

  const tail: ProcessLogsEvent[] = [];
  await client.subscribeLogs('bf', { backfill: 5, onLine: (e) => tail.push(e) });
  t.same(messages(tail), ['l16', 'l17', 'l18', 'l19', 'l20'], 'backfill: the last 5 lines, delivered before the subscription resolves');

  const { client: other } = startClient();
  const resumed: ProcessLogsEvent[] = [];
  const sub = await other.subscribeLogs('bf', { since: history[9]!, onLine: (e) => resumed.push(e) });
  t.same(messages(resumed), ['l11', 'l12', 'l13', 'l14', 'l15', 'l16', 'l17', 'l18', 'l19', 'l20'], 'since: every line after it');
  t.equal(sub.lastPosition, history[19]);

  await publisher.logs('bf', [line('warn', 'l21')]);
  await waitFor(() => tail.length === 6 && resumed.length === 11, { message: 'the live line on both' });
  t.equal(tail[5]!.logData.message, 'l21');
  t.equal(resumed[10]!.logData.message, 'l21');

  await t.rejects(client.subscribeLogs('bf2', { since: history[0]!, backfill: 3, onLine() {} }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' }, 'since and backfill together');
  await t.rejects(client.subscribeLogs('bf2', { backfill: 10_001, onLine() {} }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' });
  await t.rejects(client.subscribeLogs('bf2', { since: 'yesterday', onLine() {} }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' });
  await t.rejects(client.subscribeLogs('bf2', { level: 'loud' as LogLevel, onLine() {} }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' });
});

t.test('level filter: warn sees warn, error and fatal only; setLevel changes it and replays what the old level skipped', async (t) => {
  const { publisher, client } = await startCluster(t);
  await publisher.logs('lv', LOG_LEVELS.map((level) => line(level, `old-${level}`)));
  const got: ProcessLogsEvent[] = [];
  const sub = await client.subscribeLogs('lv', { level: 'warn', backfill: 100, onLine: (e) => got.push(e) });
  t.equal(sub.level, 'warn');
  t.same(messages(got), ['old-warn', 'old-error', 'old-fatal'], 'backfill at warn and above');

  await publisher.logs('lv', LOG_LEVELS.map((level) => line(level, `live-${level}`)));
  await waitFor(() => got.length === 6, { message: 'live warn, error, fatal' });
  // Lines below warn after the last delivered one: skipped now, replayed by setLevel('trace').
  await publisher.logs('lv', [line('debug', 'quiet-debug'), line('info', 'quiet-info')]);
  await publisher.logs('lv', [line('error', 'marker')]);
  await waitFor(() => got.length === 7, { message: 'marker' });
  t.same(messages(got).slice(3), ['live-warn', 'live-error', 'live-fatal', 'marker'], 'live lines at warn and above only');
  await publisher.logs('lv', [line('info', 'after-marker')]);

  await sub.setLevel('trace');
  t.equal(sub.level, 'trace');
  t.same(messages(got).slice(7), ['after-marker'], 'lines after the last delivered one, at the new level');
  await publisher.logs('lv', [line('trace', 'now-trace')]);
  await waitFor(() => got.length === 9);
  t.equal(got[8]!.logData.message, 'now-trace');

  await sub.setLevel('error');
  await publisher.logs('lv', [line('warn', 'hidden-warn'), line('error', 'shown-error')]);
  await waitFor(() => got.length === 10);
  t.equal(got[9]!.logData.message, 'shown-error', 'raising the level drops lower lines');
  await t.rejects(sub.setLevel('loud' as LogLevel), { code: 'VIGIL_ERR_INVALID_PAYLOAD' });
});

t.test('a since older than the kept history is reported as a gap; the kept lines follow in order', async (t) => {
  const { redis, publisher, client } = await startCluster(t);
  // MAXLEN ~ trims whole stream nodes (100 entries each): 400 lines into a stream bounded at 10.
  const history = await publishMany(publisher, 'trim', 400, { maxLen: 10 });
  const kept = await redis.command('XLEN', 'vigil:srv:{trim}:logs');
  t.ok(Number(kept.slice(1)) < 400, `the stream was trimmed (${kept.trim()})`);

  const got: ProcessLogsEvent[] = [];
  const gaps: GapInfo[] = [];
  await client.subscribeLogs('trim', { since: history[0]!, onLine: (e) => got.push(e), onGap: (g) => gaps.push(g) });
  t.same(gaps, [{ serverId: 'trim', since: history[0], reason: 'trimmed' }], 'the gap, with where it was asked from');
  t.ok(got.length > 0 && got.length < 399, `some lines were kept (${got.length})`);
  t.same(positions(got), history.slice(history.length - got.length), 'the kept lines: the newest ones, contiguous, in order');
});

t.test('a capped replay is followed to the end (more/next), with live lines arriving meanwhile', async (t) => {
  const { publisher, client } = await startCluster(t, { client: { ackTimeoutMs: 20_000 } });
  const first = await publisher.logs('many', [line('info', 'start')]);
  const history = await publishMany(publisher, 'many', 10_050);
  const got: ProcessLogsEvent[] = [];
  const gaps: GapInfo[] = [];
  const subscribed = client.subscribeLogs('many', { since: first[0]!, onLine: (e) => got.push(e), onGap: (g) => gaps.push(g) });
  const live: string[] = [];
  for (let i = 0; i < 20; i++) live.push(...(await publisher.logs('many', [line('warn', `live${i}`)])));
  await subscribed;
  await waitFor(() => got.length >= history.length + live.length, { timeoutMs: 20_000, message: 'replay and live lines' });
  t.equal(got.length, history.length + live.length, 'every line once');
  t.same(positions(got), [...history, ...live], 'in position order across the rounds and the live lines');
  t.same(gaps, []);
});

t.test('resuming with nothing delivered yet: lines published while the gateway was down arrive after the reconnect', async (t) => {
  const { gw, publisher, client, startGateway } = await startCluster(t);
  await publisher.logs('quiet', [line('info', 'before the subscription')]);
  await sleep(1100); // past the resume margin, so the line from before the subscription stays out
  const got: ProcessLogsEvent[] = [];
  const sub = await client.subscribeLogs('quiet', { onLine: (e) => got.push(e) });
  t.equal(sub.lastPosition, null, 'nothing delivered (no backfill asked)');
  await gw.close();
  await waitFor(() => client.state.name === 'reconnecting');
  const during = await publisher.logs('quiet', [line('warn', 'while down 1'), line('error', 'while down 2')]);
  await startGateway({}, gw.port);
  await waitFor(() => got.length === 2, { message: 'the lines published while down' });
  t.same(positions(got), during);
});

t.test('one logs subscription per server and client; unsubscribe stops delivery', async (t) => {
  const { publisher, client, startClient } = await startCluster(t);
  const { client: witness } = startClient();
  const got: string[] = [];
  const sub = await client.subscribeLogs('one', { onLine: (e) => got.push(e.logData.message) });
  await t.rejects(client.subscribeLogs('one', { onLine() {} }), { code: ClientErrorCodes.DUPLICATE_SUBSCRIPTION });
  await publisher.logs('one', [line('info', 'a')]);
  await waitFor(() => got.length === 1);

  const seen: string[] = [];
  await witness.subscribeLogs('one', { onLine: (e) => seen.push(e.logData.message) });
  await sub.unsubscribe();
  t.notOk(sub.active);
  await publisher.logs('one', [line('info', 'b')]);
  await waitFor(() => seen.includes('b'), { message: 'the witness got b' });
  t.same(got, ['a'], 'nothing after unsubscribe');

  const again = await client.subscribeLogs('one', { since: sub.lastPosition!, onLine: (e) => got.push(e.logData.message) });
  t.same(got, ['a', 'b'], 'subscribing again, resumed where the old subscription stopped');
  await again.unsubscribe();
});
