// When subscribeFleet() and setFilter() resolve, driven step by step through a scripted host:
// only once the new filter's complete snapshot replaced the rows, whether the gateway sent it
// before its ack (as it does) or after; never with the old filter's rows in place (offline, the
// connection dropping, a refusal, no snapshot in time: a rejection with a coded error).
import t from 'tap';
import type { FleetRow, FleetUpdate } from '@vigil/protocol';
import { ClientErrorCodes, VigilClientError } from '../src/errors.js';
import { FleetChannel } from '../src/fleet-subscription.js';
import type { ChannelHost } from '../src/subscription.js';
import { waitFor } from '@vigil/testkit';

type Pending = { payload: Record<string, unknown>; resolve(ack: Record<string, unknown>): void; reject(err: unknown): void };

function scriptedHost() {
  const requests: Pending[] = [];
  const host: ChannelHost & { connected: boolean } = {
    connected: true,
    logger: { debug() {}, warn() {}, error() {} },
    request: (_event, payload) =>
      new Promise((resolve, reject) => requests.push({ payload: payload as Record<string, unknown>, resolve: resolve as (ack: unknown) => void, reject })),
    retryDelay: () => 60_000,
    release: async () => {},
  };
  return { host, requests };
}

const row = (id: string): FleetRow => ({ id, host: 'h', collector: 'c', status: 'running', cpu: 1, rss: 1, uptime: 1, lastSeen: 1, position: '1-0' });
const snapshot = (ids: string[], complete = true, total = ids.length): FleetUpdate => ({ snapshot: true, complete, rows: ids.map(row), removed: [], total, timestamp: 1 });
const flush = () => new Promise((r) => setImmediate(r));
const ids = (ch: FleetChannel) => [...ch.view.rows.keys()].sort();

/** A channel subscribed to every server, its first snapshot ['db-1', 'web-1'] applied. */
async function subscribed(snapshotWaitMs?: number) {
  const { host, requests } = scriptedHost();
  const ch = new FleetChannel(host, undefined, {}, snapshotWaitMs);
  void ch.join();
  ch.receive(snapshot(['db-1', 'web-1']));
  requests.shift()!.resolve({ total: 2 });
  await ch.confirmed;
  return { host, requests, ch };
}

/** Whether a promise has settled, and how. */
function track(p: Promise<void>) {
  const state: { settled: boolean; error: unknown } = { settled: false, error: undefined };
  p.then(
    () => (state.settled = true),
    (err: unknown) => {
      state.settled = true;
      state.error = err;
    },
  );
  return state;
}

t.test('the snapshot before the ack (as the gateway sends it): applied at the ack', async (t) => {
  const { requests, ch } = await subscribed();
  t.same(ids(ch), ['db-1', 'web-1']);
  const done = track(ch.setFilter({ id: 'web' }));
  await flush();
  t.same(requests[0]!.payload, { filter: { id: 'web' } });
  ch.receive(snapshot(['web-1']));
  await flush();
  t.notOk(done.settled, 'not before the ack');
  requests.shift()!.resolve({ total: 1 });
  await waitFor(() => done.settled);
  t.equal(done.error, undefined);
  t.same(ids(ch), ['web-1'], 'resolved with the new rows');
});

t.test('an ack before its snapshot: setFilter waits for the complete snapshot after it', async (t) => {
  const { requests, ch } = await subscribed();
  const done = track(ch.setFilter({ id: 'web' }));
  await flush();
  requests.shift()!.resolve({ total: 2 });
  await flush();
  t.notOk(done.settled, 'not at the ack: the rows are still the old filter’s');
  t.same(ids(ch), ['db-1', 'web-1']);
  ch.receive(snapshot(['web-1'], false, 2));
  await flush();
  t.notOk(done.settled, 'not at a part');
  ch.receive(snapshot(['web-2'], true, 2));
  await waitFor(() => done.settled);
  t.equal(done.error, undefined);
  t.same(ids(ch), ['web-1', 'web-2'], 'resolved once the complete snapshot replaced the rows');
  t.equal(ch.view.total, 2);
});

t.test('the connection drops between the ack and the snapshot: setFilter rejects', async (t) => {
  const { host, requests, ch } = await subscribed();
  const done = track(ch.setFilter({ id: 'web' }));
  await flush();
  requests.shift()!.resolve({ total: 1 });
  await flush();
  host.connected = false;
  ch.disconnected(new VigilClientError(ClientErrorCodes.DISCONNECTED, 'connection lost'));
  await waitFor(() => done.settled);
  t.match(done.error, { code: ClientErrorCodes.DISCONNECTED });
  t.same(ids(ch), ['db-1', 'web-1'], 'the rows are untouched');
  t.same(ch.view.filter, { id: 'web' }, 'the next join applies the new filter');
});

t.test('no snapshot after the ack: setFilter rejects after a bounded wait', async (t) => {
  const { requests, ch } = await subscribed(50);
  const done = track(ch.setFilter({ id: 'web' }));
  await flush();
  requests.shift()!.resolve({ total: 1 });
  await waitFor(() => done.settled, { timeoutMs: 5_000 });
  t.match(done.error, { code: ClientErrorCodes.TIMEOUT });
  t.same(ids(ch), ['db-1', 'web-1']);
  await ch.unsubscribe();
});

t.test('offline, or a refused subscribe: setFilter rejects rather than resolve with the old rows', async (t) => {
  const { host, requests, ch } = await subscribed();
  host.connected = false;
  await t.rejects(ch.setFilter({ id: 'web' }), { code: ClientErrorCodes.DISCONNECTED }, 'offline');
  host.connected = true;
  const done = track(ch.setFilter({ id: 'db' }));
  await flush();
  requests.shift()!.reject(new VigilClientError('VIGIL_ERR_RATE_LIMITED', 'too many events'));
  await waitFor(() => done.settled);
  t.match(done.error, { code: 'VIGIL_ERR_RATE_LIMITED' });
  t.same(ids(ch), ['db-1', 'web-1']);
  await ch.unsubscribe();
});

t.test('two setFilter calls in a row: both resolve with the newer filter’s snapshot', async (t) => {
  const { requests, ch } = await subscribed();
  const first = track(ch.setFilter({ id: 'web' }));
  const second = track(ch.setFilter({ id: 'db' }));
  await flush();
  t.equal(requests.length, 2);
  // The first one's answer: superseded, it settles nothing.
  ch.receive(snapshot(['web-1']));
  requests.shift()!.resolve({ total: 1 });
  await flush();
  t.notOk(first.settled);
  ch.receive(snapshot(['db-1']));
  requests.shift()!.resolve({ total: 1 });
  await waitFor(() => first.settled && second.settled);
  t.equal(first.error, undefined);
  t.equal(second.error, undefined);
  t.same(ids(ch), ['db-1']);
});

t.test('close() during a setFilter: it rejects as cancelled', async (t) => {
  const { ch } = await subscribed();
  const done = track(ch.setFilter({ id: 'web' }));
  await flush();
  await ch.unsubscribe();
  await waitFor(() => done.settled);
  t.match(done.error, { code: ClientErrorCodes.CANCELLED });
});
