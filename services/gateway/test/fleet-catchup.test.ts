// A fleet subscriber that falls behind (it stops reading) and catches up: nothing is built for it
// while it does not read, then one delta brings everything that changed meanwhile (removals
// included), or a new snapshot when it is too far behind; a new token brings a new snapshot.
// The view on a real Redis; the client is a stand-in whose unread bytes the test sets.
import t from 'tap';
import pino from 'pino';
import { ALLOW_ALL, ServerEvents, permissionsOf, type FleetUpdate, type Permissions } from '@vigil/protocol';
import { FleetStore, ServerRemover, closeRedis, createRedis } from '@vigil/store';
import { startRedis, waitFor } from '@vigil/testkit';
import type { Client } from '../src/client.js';
import { FleetView } from '../src/fleet-view.js';
import { FleetSubscriber, SharedDeltas } from '../src/fleet-subscriber.js';
import { FakeCollector } from './helpers.js';

const HOUR = 3_600_000;

/** A connected client that records what it is sent and says it has `unsent` bytes unread (or a lot, once it was sent `blockAfter` messages). */
function standIn(): Client & { sent: FleetUpdate[]; unsent: number; blockAfter: number } {
  const sent: FleetUpdate[] = [];
  return {
    id: 'stand-in',
    transport: 'ws',
    rooms: new Set<string>(),
    connected: true,
    address: '127.0.0.1',
    permissions: ALLOW_ALL as Permissions,
    sent,
    unsent: 0,
    blockAfter: Infinity,
    join: () => undefined,
    leave: () => undefined,
    emit(event: string, data: unknown) {
      if (event === ServerEvents.fleetUpdate) sent.push(data as FleetUpdate);
    },
    on: () => undefined,
    onUnknown: () => undefined,
    onClose: () => undefined,
    watchOutgoing: () => () => undefined,
    unsentBytes() {
      return sent.length >= this.blockAfter ? 1_000_000 : this.unsent;
    },
    end: () => undefined,
    release: () => undefined,
  };
}

/** A private Redis, a stand-in collector, and a fleet view on its own connection, closed with the test. */
async function startView(t: { teardown(fn: () => unknown): void }) {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  const connection = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(connection));
  return { collector, connection, view: new FleetView(new FleetStore(connection), pino({ level: 'silent' })) };
}

t.test('a subscriber that stops reading catches up in one delta, or with a snapshot when too far behind', async (t) => {
  const { collector, connection, view } = await startView(t);
  for (const id of ['a', 'b', 'c', 'd']) await collector.sample(id, 1, { staleAfterMs: HOUR });

  const client = standIn();
  const subscriber = new FleetSubscriber(client);
  await view.read();
  t.equal(await subscriber.subscribe(view, undefined), 4);
  t.match(client.sent, [{ snapshot: true, complete: true, total: 4 }]);

  // It stops reading: reads go on, nothing is sent to it.
  client.unsent = 1_000_000;
  await collector.sample('a', 2, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  t.ok(await new ServerRemover(connection).remove('b'), 'b removed');
  await collector.sample('e', 1, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  await collector.sample('c', 2, { status: 'exited', staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  t.equal(client.sent.length, 1, 'nothing sent while it does not read');

  // It reads again: one delta with every change since.
  client.unsent = 0;
  subscriber.update(view);
  t.equal(client.sent.length, 2);
  const delta = client.sent[1]!;
  t.match(delta, { snapshot: false, complete: true, total: 4 });
  t.same(delta.rows.map((r) => r.id).sort(), ['a', 'c', 'e'], 'every row changed meanwhile');
  t.same(delta.removed, ['b'], 'and the removed one');
  t.match(delta.rows.find((r) => r.id === 'c'), { status: 'exited' });

  // Caught up: the next change is a one-generation delta.
  await collector.sample('d', 2, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  t.same(client.sent.at(-1)!.rows.map((r) => r.id), ['d']);
  t.equal(client.sent.at(-1)!.total, 4);
  subscriber.update(view);
  t.equal(client.sent.length, 3, 'no delta when nothing changed');

  // A new token: a new snapshot of what it allows.
  client.permissions = permissionsOf('tenant', { servers: ['a', 'c'] }, Infinity);
  subscriber.update(view);
  t.match(client.sent.at(-1), { snapshot: true, complete: true, total: 2 });
  t.same(client.sent.at(-1)!.rows.map((r) => r.id).sort(), ['a', 'c']);

  // Far behind (removals older than the view keeps): a new snapshot rather than a delta.
  client.unsent = 1_000_000;
  for (let n = 0; n < 125; n++) {
    await collector.sample(`tmp-${n}`, 1, { staleAfterMs: HOUR });
    await view.read();
    await new ServerRemover(connection).remove(`tmp-${n}`);
    await view.read();
  }
  client.unsent = 0;
  const before = client.sent.length;
  subscriber.update(view);
  t.equal(client.sent.length, before + 1);
  t.match(client.sent.at(-1), { snapshot: true, complete: true, total: 2 }, 'a snapshot');
});

t.test('a subscribe during a snapshot in parts: the old one is closed, the new one sent, deltas follow', async (t) => {
  const { collector, view } = await startView(t);
  await collector.register(Array.from({ length: 1500 }, (_, i) => `m-${i}`), { staleAfterMs: HOUR });
  await collector.sample('a', 1, { staleAfterMs: HOUR });
  await view.read();

  const client = standIn();
  const subscriber = new FleetSubscriber(client);
  // Not reading: the two-part snapshot waits before its first part.
  client.unsent = 1_000_000;
  const first = subscriber.subscribe(view, undefined);
  t.equal(client.sent.length, 0, 'the snapshot in parts waits for the client to read');
  t.equal(await subscriber.subscribe(view, { id: 'a' }), 1, 'the new filter');
  t.match(client.sent, [{ snapshot: true, complete: true, total: 1 }]);
  // The replaced snapshot stops waiting at once, although the client still does not read.
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await waitFor(() => firstDone, { timeoutMs: 2_000, message: 'the replaced snapshot no longer waits for the client' });
  client.unsent = 0;
  t.equal(client.sent.length, 1, 'no part of the replaced snapshot after the new one');

  await collector.sample('a', 2, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  t.match(client.sent.at(-1), { snapshot: false, total: 1, rows: [{ id: 'a', uptime: 2 }] }, 'deltas follow');

  // Interrupted after its first part: the old snapshot is closed (an empty complete part) before the new one.
  const other = standIn();
  const second = new FleetSubscriber(other);
  other.blockAfter = 1;
  const interrupted = second.subscribe(view, undefined);
  await waitFor(() => other.sent.length === 1, { message: 'the first part' });
  t.match(other.sent[0], { snapshot: true, complete: false });
  other.blockAfter = Infinity;
  t.equal(await second.subscribe(view, { id: 'a' }), 1);
  await interrupted;
  t.same(other.sent.map((u) => [u.snapshot, u.complete, u.rows.length]), [
    [true, false, 1000],
    [true, true, 0],
    [true, true, 1],
  ]);
});

t.test('a limited token catching up: the delta names no server the token may not see', async (t) => {
  const { collector, view } = await startView(t);
  for (const id of ['mine-1', 'other-1']) await collector.sample(id, 1, { staleAfterMs: HOUR });
  const client = standIn();
  client.permissions = permissionsOf('tenant', { servers: ['mine-*'] }, Infinity);
  const subscriber = new FleetSubscriber(client);
  await view.read();
  t.equal(await subscriber.subscribe(view, undefined), 1);

  // Two generations behind, so the catch-up (not the one-generation delta) builds what it is sent.
  client.unsent = 1_000_000;
  await collector.sample('other-1', 2, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  await collector.sample('mine-1', 2, { staleAfterMs: HOUR });
  await collector.sample('other-1', 3, { staleAfterMs: HOUR });
  await view.read();
  subscriber.update(view);
  client.unsent = 0;
  subscriber.update(view);
  const delta = client.sent.at(-1)!;
  t.match(delta, { snapshot: false, total: 1 });
  t.same(delta.rows.map((r) => r.id), ['mine-1']);
  t.same(delta.removed, [], 'other-1 changed, but its id is not sent to a token that may not see it');
});

t.test('unsubscribed while its snapshot waits for the client to read: the wait ends', async (t) => {
  const { collector, view } = await startView(t);
  await collector.register(Array.from({ length: 1500 }, (_, i) => `m-${i}`), { staleAfterMs: HOUR });
  await view.read();
  const client = standIn();
  const subscriber = new FleetSubscriber(client);
  client.unsent = 1_000_000;
  let done = false;
  void subscriber.subscribe(view, undefined).then(() => (done = true));
  subscriber.stop();
  await waitFor(() => done, { timeoutMs: 2_000, message: 'no loop left polling for an unsubscribed client' });
  client.unsent = 0;
  t.equal(client.sent.length, 0, 'and nothing sent after the stop');
});

t.test('one generation on: clients that see alike share one delta and one send; a limited token with the same filter and total gets its own', async (t) => {
  const { collector, view } = await startView(t);
  for (const id of ['web-1', 'web-2', 'db-1']) await collector.sample(id, 1, { staleAfterMs: HOUR });
  await view.read();
  const alike = [standIn(), standIn()];
  const limited = standIn();
  // It may see both web servers there are now: the same filter and the same total as the others.
  limited.permissions = permissionsOf('tenant', { servers: ['web-1', 'web-2'] }, Infinity);
  const subscribers = [...alike, limited].map((c) => new FleetSubscriber(c));
  for (const s of subscribers) t.equal(await s.subscribe(view, { id: 'web' }), 2);

  // A web server the limited token may not see comes in, and one it may see changes.
  await collector.sample('web-3', 1, { staleAfterMs: HOUR });
  await collector.sample('web-1', 2, { staleAfterMs: HOUR });
  await view.read();
  const shared = new SharedDeltas();
  const sends: Array<{ clients: readonly Client[]; data: FleetUpdate }> = [];
  for (const s of subscribers) s.update(view, shared);
  shared.flush((clients, event, data) => {
    t.equal(event, ServerEvents.fleetUpdate);
    sends.push({ clients, data: data as FleetUpdate });
  });
  t.equal(sends.length, 1, 'one send for the clients alike');
  t.same(sends[0]?.clients, alike, 'to both of them, and only them');
  t.match(sends[0]?.data, { snapshot: false, complete: true, total: 3 });
  t.same(sends[0]?.data.rows.map((r) => r.id).sort(), ['web-1', 'web-3']);
  const own = limited.sent.at(-1)!;
  t.match(own, { snapshot: false, complete: true, total: 2 }, 'the limited token: its own delta, its own total');
  t.same(own.rows.map((r) => r.id), ['web-1']);
  t.notOk([...own.rows.map((r) => r.id), ...own.removed].includes('web-3'), 'web-3 is never named to it');
});
