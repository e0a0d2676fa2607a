// The logs subscription's ordering rules, driven step by step through a scripted host: lines held
// during a join and delivered sorted at its ack, capped replays followed without skipping past
// held live lines, resume points, retries and permanent refusals.
import t from 'tap';
import type { LogLevel, ProcessLogsEvent } from '@vigil/protocol';
import { VigilClientError } from '../src/errors.js';
import { HELD_MAX, LogsChannel, type GapInfo } from '../src/logs-subscription.js';
import type { ChannelHost } from '../src/subscription.js';
import { waitFor } from '@vigil/testkit';

type Pending = { event: string; payload: Record<string, unknown>; resolve(ack: Record<string, unknown>): void; reject(err: unknown): void };

function scriptedHost() {
  const requests: Pending[] = [];
  const host: ChannelHost & { connected: boolean } = {
    connected: true,
    logger: { debug() {}, warn() {}, error() {} },
    request: (event, payload) =>
      new Promise((resolve, reject) => requests.push({ event, payload: payload as Record<string, unknown>, resolve: resolve as (ack: unknown) => void, reject })),
    retryDelay: () => 5,
    release: async () => {},
  };
  return { host, requests };
}

const at = (n: number) => `${1_000_000 + n}-0`;
const ev = (n: number, level: LogLevel = 'info'): ProcessLogsEvent => ({
  serverId: 'svc',
  logData: { level, message: `m${n}`, timestamp: '2026-11-21T00:00:00.000Z', metadata: {} },
  timestamp: '2026-11-21T00:00:00.000Z',
  position: at(n),
});
const ack = (fields: Record<string, unknown> = {}) => ({ ok: true, gap: false, more: false, replayed: 0, timestamp: '2026-11-21T00:00:00.000Z', ...fields });
const flush = () => new Promise((r) => setImmediate(r));

function channel(options: Partial<ConstructorParameters<typeof LogsChannel>[2]> = {}) {
  const { host, requests } = scriptedHost();
  const delivered: number[] = [];
  const gaps: GapInfo[] = [];
  const errors: VigilClientError[] = [];
  const ch = new LogsChannel(host, 'svc', {
    onLine: (e) => delivered.push(Number(e.position.split('-')[0]) - 1_000_000),
    onGap: (g) => gaps.push(g),
    onError: (e) => errors.push(e),
    ...options,
  });
  ch.confirmed.catch(() => undefined);
  return { ch, host, requests, delivered, gaps, errors };
}

t.test('lines arriving during a join are held, then delivered sorted; afterwards duplicates and older lines are dropped', async (t) => {
  const { ch, requests, delivered } = channel({ since: at(0) });
  void ch.join();
  t.same(requests[0]!.payload, { serverId: 'svc', level: 'trace', since: at(0) });
  // A live line overtakes the replay, as the gateway allows.
  for (const n of [5, 1, 2, 6, 3, 4]) ch.receive(ev(n));
  t.same(delivered, [], 'nothing before the ack');
  requests[0]!.resolve(ack({ replayed: 4 }));
  await ch.confirmed;
  t.same(delivered, [1, 2, 3, 4, 5, 6], 'sorted by position at the ack');
  for (const n of [6, 3, 7, 7, 8]) ch.receive(ev(n));
  t.same(delivered, [1, 2, 3, 4, 5, 6, 7, 8], 'live: duplicates and older lines dropped');
  t.equal(ch.view.lastPosition, at(8));
});

t.test('a capped replay: lines up to `next` are delivered, held live lines beyond it wait for the rest', async (t) => {
  const { ch, requests, delivered, gaps } = channel({ since: at(0) });
  void ch.join();
  for (const n of [1, 2, 9, 3]) ch.receive(ev(n));
  requests[0]!.resolve(ack({ more: true, next: at(3), replayed: 3 }));
  await waitFor(() => requests.length === 2);
  t.same(delivered, [1, 2, 3], 'up to next only: line 9 stays held');
  t.same(requests[1]!.payload, { serverId: 'svc', level: 'trace', since: at(3) }, 'continues after next');
  for (const n of [4, 5, 6, 10, 7, 8, 9]) ch.receive(ev(n));
  requests[1]!.resolve(ack({ replayed: 6 }));
  await ch.confirmed;
  t.same(delivered, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every line once, in order');
  t.same(gaps, []);
});

t.test('more lines during a join than the client holds: they are let go and read again from after the last delivered one', async (t) => {
  const { ch, requests, delivered, gaps } = channel({ since: at(0) });
  void ch.join();
  // A first page up to 2, with live lines (3, 4) beyond it.
  for (const n of [1, 2, 3, 4]) ch.receive(ev(n));
  requests[0]!.resolve(ack({ replayed: 2, more: true, next: at(2) }));
  await waitFor(() => requests.length === 2, { message: 'the next page asked for' });
  t.same(delivered, [1, 2], 'the first page delivered');
  // A flood of live lines while the next page is read: past HELD_MAX the held lines are let go.
  for (let n = 5; n <= HELD_MAX + 10; n++) ch.receive(ev(n));
  requests[1]!.resolve(ack({ replayed: 0 }));
  await waitFor(() => requests.length === 3, { message: 'a round from the last delivered line' });
  t.same(requests[2]!.payload, { serverId: 'svc', level: 'trace', since: at(2) }, 'asked again from the last delivered line');
  t.same(delivered, [1, 2], 'nothing delivered out of what was let go');
  for (const n of [3, 4, 5, 6]) ch.receive(ev(n));
  requests[2]!.resolve(ack({ replayed: 4 }));
  await ch.confirmed;
  t.same(delivered, [1, 2, 3, 4, 5, 6], 'the lines let go came again from history, in order');
  t.same(gaps, [], 'no gap: nothing was lost');
});

t.test('re-joins resume after the last delivered line; transient refusals are retried, permanent ones end it', async (t) => {
  const { ch, host, requests, delivered, errors } = channel({ backfill: 3, level: 'warn' });
  void ch.join();
  t.same(requests[0]!.payload, { serverId: 'svc', level: 'warn', backfill: 3 }, 'first join: backfill');
  ch.receive(ev(1, 'info'));
  ch.receive(ev(2, 'error'));
  requests[0]!.resolve(ack());
  await ch.confirmed;
  t.same(delivered, [2], 'below the level: dropped');

  host.connected = false;
  void ch.join();
  t.equal(requests.length, 1, 'offline: nothing sent, the reconnect will join');
  host.connected = true;
  void ch.join();
  t.same(requests[1]!.payload, { serverId: 'svc', level: 'warn', since: at(2) }, 'resume after the last delivered line, no backfill');
  requests[1]!.reject(new VigilClientError('VIGIL_ERR_RATE_LIMITED', 'slow down'));
  await waitFor(() => requests.length === 3, { message: 'retried' });
  t.same(requests[2]!.payload, requests[1]!.payload);
  requests[2]!.reject(new VigilClientError('VIGIL_ERR_TOO_MANY_ROOMS', 'full'));
  await flush();
  t.equal(errors.length, 1, 'a permanent refusal on a re-join is reported');
  t.equal(errors[0]!.code, 'VIGIL_ERR_TOO_MANY_ROOMS');
  t.notOk(ch.view.active, 'and ends the subscription');
  ch.receive(ev(3, 'error'));
  t.same(delivered, [2], 'nothing after the end');
});

t.test('an answer to a superseded join is ignored; the newer join decides', async (t) => {
  const { ch, requests, delivered } = channel();
  void ch.join();
  void ch.join(); // e.g. a reconnect while the first join was in flight
  ch.receive(ev(2));
  requests[0]!.resolve(ack());
  await flush();
  t.same(delivered, [], 'still holding: the first answer is stale');
  ch.receive(ev(1));
  requests[1]!.resolve(ack());
  await ch.confirmed;
  t.same(delivered, [1, 2]);
});

t.test('resume point with nothing delivered: the head if the gateway gives one, else a second before the confirmation', async (t) => {
  const a = channel();
  void a.ch.join();
  a.requests[0]!.resolve(ack({ timestamp: '2026-11-21T00:00:10.000Z' }));
  await a.ch.confirmed;
  void a.ch.join();
  t.same(a.requests[1]!.payload, { serverId: 'svc', level: 'trace', since: `${Date.parse('2026-11-21T00:00:09.000Z')}-0` });

  const b = channel();
  void b.ch.join();
  b.requests[0]!.resolve(ack({ head: at(42) }));
  await b.ch.confirmed;
  void b.ch.join();
  t.same(b.requests[1]!.payload, { serverId: 'svc', level: 'trace', since: at(42) });
});

t.test('a gap is reported with the position asked from', async (t) => {
  const { ch, requests, gaps } = channel({ since: at(0) });
  void ch.join();
  requests[0]!.resolve(ack({ gap: true }));
  await ch.confirmed;
  t.same(gaps, [{ serverId: 'svc', since: at(0), reason: 'trimmed' }]);
});

t.test('a handler that throws does not stop delivery', async (t) => {
  let calls = 0;
  const { ch, requests } = channel({
    onLine: () => {
      calls++;
      throw new Error('boom');
    },
  });
  void ch.join();
  ch.receive(ev(1));
  ch.receive(ev(2));
  requests[0]!.resolve(ack());
  await ch.confirmed;
  ch.receive(ev(3));
  t.equal(calls, 3);
});
