// The fleet summary: `subscribe-fleet` (a snapshot in parts, then deltas at most once a gateway
// second), its filter, token scoping and removals, on Socket.IO and /ws; and `GET /api/servers`
// paged by cursor, filtered and sorted. Real Redis, real gateways.
import t from 'tap';
import type { Socket } from 'socket.io-client';
import {
  ErrorCodes,
  Keys,
  NAMESPACE,
  ServerEvents,
  metricsRoom,
  type FleetRow,
  type FleetUpdate,
  type ServerPage,
} from '@vigil/protocol';
import { BatchWriter, broadcastFrame, type AppendOp } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { collect, emitAck, registryEntry, sampleBody, startStack, testToken, type FakeCollector } from './helpers.js';
import { WsTestClient } from './ws-helpers.js';

const HOUR = 3_600_000;
type Ack = { ok: boolean; total?: number; error?: { code: string; message: string } };

/** The rows of the last complete snapshot among `updates`, by id. */
function lastSnapshot(updates: FleetUpdate[]): { rows: Map<string, FleetRow>; parts: FleetUpdate[] } {
  const end = updates.findLastIndex((u) => u.snapshot && u.complete);
  let start = end;
  while (start > 0 && updates[start - 1]!.snapshot && !updates[start - 1]!.complete) start--;
  const parts = updates.slice(start, end + 1);
  return { rows: new Map(parts.flatMap((p) => p.rows).map((r) => [r.id, r])), parts };
}

const idsOf = (rows: Map<string, FleetRow> | FleetRow[]) => [...(rows instanceof Map ? rows.keys() : rows.map((r) => r.id))].sort();

/**
 * A synthetic fleet written as collectors write it (BatchWriter: latest sample, registry entry,
 * heartbeat), `n` servers `prefix-00000`… in one round trip; `cpu` of server i is i % 100.
 */
async function writeFleet(collector: FakeCollector, n: number, prefix = 'srv', round = 1): Promise<string[]> {
  const writer = new BatchWriter(collector.redis);
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  const appends: AppendOp[] = ids.map((id, i) => {
    const body = sampleBody(id, round);
    body.processInfo.cpu = i % 100;
    return {
      stream: Keys.metrics(id),
      maxLen: 10,
      latestKey: Keys.latest(id),
      body: JSON.stringify(body),
      frame: broadcastFrame('fleet-test', NAMESPACE, metricsRoom(id), ServerEvents.processInfo),
    };
  });
  const at = Date.now();
  // In batches: one script call for 3,000 servers can outlast the client's command timeout on a busy machine.
  for (let from = 0; from < n; from += 500) {
    const batch = ids.slice(from, from + 500);
    await writer.write(
      {
        appends: appends.slice(from, from + 500),
        registry: batch.map((id, i) => ({ serverId: id, entry: JSON.stringify(registryEntry(id, { host: `host-${(from + i) % 10}`, staleAfterMs: HOUR })) })),
        heartbeats: batch.map((id) => ({ serverId: id, at })),
      },
      { positions: false },
    );
  }
  return ids;
}

async function subscribe(socket: Socket, filter?: unknown): Promise<Ack> {
  return emitAck<Ack>(socket, 'subscribe-fleet', filter === undefined ? {} : { filter });
}

t.test('a subscriber gets a snapshot, then only the rows that changed, batched', async (t) => {
  const stack = await startStack(t);
  const { collector } = stack;
  const first = await collector.sample('web-1', 1, { staleAfterMs: HOUR });
  await collector.sample('web-2', 1, { staleAfterMs: HOUR });
  await collector.sample('db-1', 1, { staleAfterMs: HOUR, host: 'db-host', collectorId: 'db-collector' });
  const socket = await stack.client();
  const updates = collect<FleetUpdate>(socket, ServerEvents.fleetUpdate);
  // HLEN is the fleet read's own command: a gateway nobody subscribes to has not read the fleet.
  const fleetReads = async () => Number(/cmdstat_hlen:calls=(\d+)/.exec(await stack.redis.command('INFO', 'commandstats'))?.[1] ?? 0);
  t.equal(await fleetReads(), 0, 'no fleet read before a subscriber');

  const ack = await subscribe(socket);
  t.same(ack, { ok: true, total: 3 }, 'the ack counts the servers');
  t.ok((await fleetReads()) > 0, 'the subscriber made the gateway read the fleet');
  t.equal(updates.length, 1, 'the snapshot came before the ack, in one part');
  t.match(updates[0], { snapshot: true, complete: true, removed: [], total: 3 });
  t.same(idsOf(updates[0]!.rows), ['db-1', 'web-1', 'web-2']);
  const web1 = updates[0]!.rows.find((r) => r.id === 'web-1')!;
  t.match(web1, { host: 'test-host', collector: 'test-collector', status: 'running', cpu: 1, rss: 1_000_001, uptime: 1, position: first });
  t.ok(typeof web1.lastSeen === 'number' && Math.abs(web1.lastSeen - Date.now()) < 60_000, 'lastSeen is epoch ms');
  t.match(updates[0]!.rows.find((r) => r.id === 'db-1'), { host: 'db-host', collector: 'db-collector' });

  const second = await collector.sample('web-1', 2, { staleAfterMs: HOUR });
  await waitFor(() => updates.length >= 2, { message: 'a delta' });
  t.match(updates[1], { snapshot: false, complete: true, removed: [], total: 3 });
  t.same(updates[1]!.rows.map((r) => [r.id, r.position, r.cpu, r.uptime]), [['web-1', second, 2, 2]], 'only the row that changed');

  // Twenty samples of two servers in a burst: a few deltas (one per gateway second), never one per sample.
  const started = Date.now();
  let last = '';
  for (let n = 3; n < 23; n++) {
    last = await collector.sample(n % 2 ? 'web-1' : 'web-2', n, { staleAfterMs: HOUR });
  }
  const burstMs = Date.now() - started;
  await waitFor(() => updates.some((u) => u.rows.some((r) => r.position === last)), { message: 'the last sample in a delta' });
  const deltas = updates.slice(2);
  t.ok(deltas.length <= Math.ceil(burstMs / 1000) + 2, `${deltas.length} deltas for 20 samples written in ${burstMs} ms`);
  t.ok(deltas.every((u) => !u.snapshot && u.rows.length + u.removed.length > 0), 'no delta without a change');
  t.ok(deltas.every((u) => new Set(u.rows.map((r) => r.id)).size === u.rows.length), 'a row at most once per delta');

  t.same(await emitAck(socket, 'unsubscribe-fleet', {}), { ok: true });
  const before = updates.length;
  await collector.sample('web-1', 99, { staleAfterMs: HOUR });
  // Another subscriber proves a read happened after the sample; the first one got nothing of it.
  const other = await stack.client();
  const otherUpdates = collect<FleetUpdate>(other, ServerEvents.fleetUpdate);
  await subscribe(other);
  await collector.sample('web-2', 100, { staleAfterMs: HOUR });
  await waitFor(() => otherUpdates.some((u) => !u.snapshot), { message: 'a delta for the other subscriber' });
  t.equal(updates.length, before, 'nothing after unsubscribe-fleet');
});

t.test('filters: status, host, collector, id prefix and glob, ANDed; a second subscribe replaces the filter', async (t) => {
  const stack = await startStack(t);
  const { collector } = stack;
  await collector.sample('web-eu-1', 1, { host: 'h-eu', collectorId: 'c1', staleAfterMs: HOUR });
  await collector.sample('web-us-1', 1, { host: 'h-us', collectorId: 'c2', staleAfterMs: HOUR });
  await collector.sample('db-eu-1', 1, { host: 'h-eu', collectorId: 'c1', status: 'exited', staleAfterMs: HOUR });
  await collector.sample('api-x', 1, { host: 'h-us', collectorId: 'c2', staleAfterMs: 100 });
  await waitFor(async () => (await stack.gw.inject('/api/servers/api-x')).json().status === 'stale', { message: 'api-x stale' });

  const socket = await stack.client();
  const updates = collect<FleetUpdate>(socket, ServerEvents.fleetUpdate);
  const cases: Array<[unknown, string[]]> = [
    [{ status: ['running'] }, ['web-eu-1', 'web-us-1']],
    [{ status: ['exited', 'stale'] }, ['api-x', 'db-eu-1']],
    [{ host: 'h-eu' }, ['db-eu-1', 'web-eu-1']],
    [{ collector: 'c2' }, ['api-x', 'web-us-1']],
    [{ id: 'web-' }, ['web-eu-1', 'web-us-1']],
    [{ id: '*-eu-*' }, ['db-eu-1', 'web-eu-1']],
    [{ id: 'web*', host: 'h-us' }, ['web-us-1']],
    [{ host: 'h-*', status: ['running'] }, ['web-eu-1', 'web-us-1']],
    [{ id: 'nothing' }, []],
    [{}, ['api-x', 'db-eu-1', 'web-eu-1', 'web-us-1']],
  ];
  for (const [filter, expected] of cases) {
    const ack = await subscribe(socket, filter);
    t.same(ack, { ok: true, total: expected.length }, `${JSON.stringify(filter)}: total`);
    t.same(idsOf(lastSnapshot(updates).rows), expected, `${JSON.stringify(filter)}: the snapshot`);
  }

  // The same filters on REST.
  const rest: Array<[string, string[]]> = [
    ['status=exited,stale', ['api-x', 'db-eu-1']],
    ['host=h-eu', ['db-eu-1', 'web-eu-1']],
    ['collector=c2', ['api-x', 'web-us-1']],
    ['id=web-', ['web-eu-1', 'web-us-1']],
    ['id=*-eu-*', ['db-eu-1', 'web-eu-1']],
    ['id=web*&host=h-us', ['web-us-1']],
  ];
  for (const [query, expected] of rest) {
    const page = (await stack.gw.inject(`/api/servers?${query}`)).json() as ServerPage;
    t.same(page.servers.map((s) => s.serverId), expected, `REST ${query}`);
    t.equal(page.total, expected.length);
  }

  // After replacing, deltas follow the new filter only.
  await subscribe(socket, { host: 'h-us' });
  const mark = updates.length;
  await collector.sample('web-eu-1', 2, { host: 'h-eu', collectorId: 'c1', staleAfterMs: HOUR });
  const us = await collector.sample('web-us-1', 2, { host: 'h-us', collectorId: 'c2', staleAfterMs: HOUR });
  await waitFor(() => updates.slice(mark).some((u) => u.rows.some((r) => r.position === us)), { message: 'the h-us delta' });
  t.ok(updates.slice(mark).every((u) => u.rows.every((r) => r.id !== 'web-eu-1')), 'no row outside the new filter');

  for (const bad of [{ id: 'a b' }, { status: ['nope'] }, { host: 'x'.repeat(300) }, { id: '*'.repeat(9) }, { colour: 'red' }, 'web']) {
    const ack = await emitAck<Ack>(socket, 'subscribe-fleet', { filter: bad });
    t.equal(ack.error?.code, ErrorCodes.INVALID_PAYLOAD, `${JSON.stringify(bad).slice(0, 40)} is refused`);
  }
});

t.test('servers that leave the view: removed, no longer matching', async (t) => {
  const stack = await startStack(t);
  const { collector, gw } = stack;
  for (const id of ['a-1', 'a-2', 'a-3']) await collector.sample(id, 1, { staleAfterMs: HOUR });
  const running = await stack.client();
  const all = await stack.client();
  const runningUpdates = collect<FleetUpdate>(running, ServerEvents.fleetUpdate);
  const allUpdates = collect<FleetUpdate>(all, ServerEvents.fleetUpdate);
  t.match(await subscribe(running, { status: ['running'] }), { total: 3 });
  t.match(await subscribe(all), { total: 3 });

  await collector.sample('a-2', 2, { status: 'exited', staleAfterMs: HOUR });
  await waitFor(() => runningUpdates.some((u) => u.removed.includes('a-2')), { message: 'a-2 leaves the running view' });
  t.match(runningUpdates.at(-1), { snapshot: false, removed: ['a-2'], total: 2 });
  await waitFor(() => allUpdates.some((u) => u.rows.some((r) => r.id === 'a-2' && r.status === 'exited')), { message: 'a-2 exited in the full view' });

  const admin = await testToken({ sub: 'ops', vigil: { servers: ['*'], admin: true } });
  const res = await gw.inject({ method: 'DELETE', url: '/api/servers/a-3', headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200);
  await waitFor(() => runningUpdates.some((u) => u.removed.includes('a-3')) && allUpdates.some((u) => u.removed.includes('a-3')), {
    message: 'a deleted server is removed from both views',
  });
  t.equal(allUpdates.at(-1)!.total, 2);
  t.equal(runningUpdates.at(-1)!.total, 1);

  // It comes back when its collector writes again.
  await collector.sample('a-3', 5, { staleAfterMs: HOUR });
  await waitFor(() => runningUpdates.at(-1)!.rows.some((r) => r.id === 'a-3'), { message: 'a-3 back' });
  t.equal(runningUpdates.at(-1)!.total, 2);
});

t.test('a token limited to some servers sees only those: snapshot, deltas, REST, and after a refresh', async (t) => {
  const stack = await startStack(t);
  const { collector, gw } = stack;
  for (const id of ['web-eu-1', 'web-us-1', 'db-1']) await collector.sample(id, 1, { staleAfterMs: HOUR });
  const token = await testToken({ sub: 'tenant', vigil: { servers: ['web-*'] } });
  const socket = await stack.client(gw, { auth: { token } });
  const updates = collect<FleetUpdate>(socket, ServerEvents.fleetUpdate);
  t.same(await subscribe(socket), { ok: true, total: 2 });
  t.same(idsOf(lastSnapshot(updates).rows), ['web-eu-1', 'web-us-1']);
  t.same(await subscribe(socket, { id: 'db' }), { ok: true, total: 0 }, 'a filter cannot widen the token');

  await subscribe(socket);
  const mark = updates.length;
  await collector.sample('db-1', 2, { staleAfterMs: HOUR });
  const web = await collector.sample('web-us-1', 2, { staleAfterMs: HOUR });
  await waitFor(() => updates.slice(mark).some((u) => u.rows.some((r) => r.position === web)), { message: 'the web delta' });
  t.ok(updates.every((u) => u.rows.every((r) => r.id !== 'db-1')), 'db-1 never sent');
  t.ok(updates.slice(mark).every((u) => !u.snapshot), 'deltas, not snapshots, while the token stays the same');

  const page = await gw.inject({ url: '/api/servers', headers: { authorization: `Bearer ${token}` } });
  t.same((page.json() as ServerPage).servers.map((s) => s.serverId), ['web-eu-1', 'web-us-1'], 'REST: only the allowed servers');
  t.equal((page.json() as ServerPage).total, 2);

  // A narrower token: the gateway sends a new snapshot without what it no longer allows.
  const narrower = await testToken({ sub: 'tenant', vigil: { servers: ['web-eu-*'] } });
  t.match(await emitAck(socket, 'refresh-token', { token: narrower }), { ok: true });
  await waitFor(() => updates.at(-1)!.snapshot && updates.at(-1)!.complete && updates.at(-1)!.total === 1, { message: 'a new snapshot' });
  t.same(idsOf(lastSnapshot(updates).rows), ['web-eu-1']);
});

t.test('3,000 servers: the snapshot and a large delta in parts of 1,000; REST pages cover every server once', async (t) => {
  const stack = await startStack(t);
  const { collector, gw } = stack;
  const ids = await writeFleet(collector, 3000);
  const socket = await stack.client();
  const updates = collect<FleetUpdate>(socket, ServerEvents.fleetUpdate);
  t.same(await subscribe(socket), { ok: true, total: 3000 });
  t.equal(updates.length, 3, 'three messages');
  t.same(updates.map((u) => [u.snapshot, u.complete, u.rows.length, u.total]), [
    [true, false, 1000, 3000],
    [true, false, 1000, 3000],
    [true, true, 1000, 3000],
  ]);
  t.same(idsOf(lastSnapshot(updates).rows), ids, 'every server once');

  // Half the fleet samples again at once: a delta in parts (or two, if the writes straddle a read).
  await writeFleet(collector, 1500, 'srv', 2);
  await waitFor(() => updates.slice(3).filter((u) => u.complete).length >= 1 && updates.slice(3).flatMap((u) => u.rows).length >= 1500, {
    message: 'the delta of 1,500 rows',
  });
  const delta = updates.slice(3);
  t.ok(delta.every((u) => !u.snapshot && u.rows.length <= 1000), 'parts of at most 1,000 rows');
  t.ok(delta.length <= 4, `${delta.length} messages for 1,500 changed rows`);
  t.same(new Set(delta.flatMap((u) => u.rows.map((r) => r.id))).size, 1500, 'each changed row once');
  t.ok(delta.flatMap((u) => u.rows).every((r) => r.uptime === 2), 'with their new figures');

  // REST: pages by cursor, every server exactly once, in order.
  for (const [sort, order] of [
    ['id', 'asc'],
    ['cpu', 'desc'],
    ['host', 'asc'],
  ] as const) {
    const seen: string[] = [];
    const keys: Array<string | number> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/servers?limit=700&sort=${sort}&order=${order}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await gw.inject(url);
      t.equal(res.statusCode, 200);
      const page = res.json() as ServerPage;
      t.equal(page.total, 3000);
      for (const s of page.servers) {
        seen.push(s.serverId);
        keys.push(sort === 'cpu' ? s.latest!.processInfo.cpu : sort === 'host' ? s.host : s.serverId);
      }
      cursor = page.next;
      pages++;
    } while (cursor && pages < 10);
    t.equal(pages, 5, `${sort} ${order}: five pages of at most 700`);
    t.equal(seen.length, 3000, `${sort} ${order}: 3,000 rows`);
    t.equal(new Set(seen).size, 3000, `${sort} ${order}: every server exactly once`);
    const sorted = keys.every((k, i) => i === 0 || (order === 'asc' ? keys[i - 1]! <= k : keys[i - 1]! >= k));
    t.ok(sorted, `${sort} ${order}: in order across pages`);
  }

  const filtered = (await gw.inject('/api/servers?host=host-3&sort=cpu&order=asc&limit=1000')).json() as ServerPage;
  t.equal(filtered.total, 300, 'a filter on REST');
  t.ok(filtered.servers.every((s) => s.host === 'host-3'));

  const first = (await gw.inject('/api/servers?limit=10&sort=cpu')).json() as ServerPage;
  for (const [query, why] of [
    ['cursor=not-a-cursor', 'garbage'],
    ['cursor=e30', 'an empty object'],
    [`cursor=${first.next}&sort=id`, 'a cursor of another sort'],
    [`cursor=${first.next}&sort=cpu&order=desc`, 'a cursor of another order'],
    ['cursor=a%20b', 'not base64url'],
    ['sort=memory', 'an unknown sort'],
    ['limit=1001', 'past the page limit'],
    ['status=lost', 'an unknown status'],
  ]) {
    const res = await gw.inject(`/api/servers?${query}`);
    t.equal(res.statusCode, 400, `${why}: 400`);
    t.equal(res.json().error.code, ErrorCodes.INVALID_QUERY, `${why}: ${ErrorCodes.INVALID_QUERY}`);
  }
});

t.test('the same on a /ws client', async (t) => {
  const stack = await startStack(t);
  const { collector, gw } = stack;
  await collector.sample('web-1', 1, { staleAfterMs: HOUR });
  await collector.sample('db-1', 1, { staleAfterMs: HOUR });
  const ws = await WsTestClient.connect(gw.url);
  t.teardown(() => ws.ws.close());
  const ack = await ws.request('subscribe-fleet', { filter: { id: 'web' } });
  t.same(ack, { ok: true, total: 1 });
  const snapshot = ws.got<FleetUpdate>(ServerEvents.fleetUpdate);
  t.equal(snapshot.length, 1, 'the snapshot came before the ack');
  t.match(snapshot[0], { snapshot: true, complete: true, total: 1 });
  t.same(idsOf(snapshot[0]!.rows), ['web-1']);

  await collector.sample('db-1', 2, { staleAfterMs: HOUR });
  const web = await collector.sample('web-1', 2, { staleAfterMs: HOUR });
  await waitFor(() => ws.got<FleetUpdate>(ServerEvents.fleetUpdate).some((u) => u.rows.some((r) => r.position === web)), { message: 'a /ws delta' });
  t.ok(ws.got<FleetUpdate>(ServerEvents.fleetUpdate).every((u) => u.rows.every((r) => r.id === 'web-1')), 'filtered');

  t.equal((await ws.request('subscribe-fleet', { filter: { status: ['gone'] } })).error?.code, ErrorCodes.INVALID_PAYLOAD);
  t.same(await ws.request('unsubscribe-fleet'), { ok: true }, 'no payload is fine');
  t.same(await ws.request('subscribe-fleet'), { ok: true, total: 2 }, 'no payload subscribes to everything');
});

t.test('clients that see alike (a token that sees all, one filter) get the same deltas, on both transports; others get their own', async (t) => {
  const stack = await startStack(t);
  const { collector, gw } = stack;
  for (const id of ['web-1', 'web-2', 'db-1']) await collector.sample(id, 1, { staleAfterMs: HOUR });
  // Alike: two Socket.IO and two /ws clients, every server, filtered to web.
  const sockets = [await stack.client(), await stack.client()];
  const wss = [await WsTestClient.connect(gw.url), await WsTestClient.connect(gw.url)];
  for (const ws of wss) t.teardown(() => ws.ws.close());
  const socketUpdates = sockets.map((s) => collect<FleetUpdate>(s, ServerEvents.fleetUpdate));
  for (const s of sockets) t.same(await subscribe(s, { id: 'web' }), { ok: true, total: 2 });
  for (const ws of wss) t.same(await ws.request('subscribe-fleet', { filter: { id: 'web' } }), { ok: true, total: 2 });
  // Not alike: another filter, and a token limited to one server with the same filter.
  const other = await stack.client();
  const otherUpdates = collect<FleetUpdate>(other, ServerEvents.fleetUpdate);
  t.same(await subscribe(other), { ok: true, total: 3 });
  const limited = await stack.client(gw, { auth: { token: await testToken({ sub: 'tenant', vigil: { servers: ['web-2'] } }) } });
  const limitedUpdates = collect<FleetUpdate>(limited, ServerEvents.fleetUpdate);
  t.same(await subscribe(limited, { id: 'web' }), { ok: true, total: 1 });

  await collector.sample('db-1', 2, { staleAfterMs: HOUR });
  const web1 = await collector.sample('web-1', 2, { staleAfterMs: HOUR });
  const deltas = (updates: FleetUpdate[]) => updates.filter((u) => !u.snapshot);
  const all = () => [...socketUpdates, ...wss.map((ws) => ws.got<FleetUpdate>(ServerEvents.fleetUpdate))];
  await waitFor(() => all().every((u) => deltas(u).some((d) => d.rows.some((r) => r.position === web1))), { message: 'web-1 in every alike client' });
  await waitFor(() => deltas(otherUpdates).some((d) => d.rows.some((r) => r.position === web1)), { message: 'web-1 for the unfiltered client' });
  const seen = all().map((u) => deltas(u).flatMap((d) => d.rows.map((r) => `${r.id}@${r.position}`)));
  t.ok(seen.every((s) => s.includes(`web-1@${web1}`) && s.every((x) => x.startsWith('web-'))), 'every alike client: web-1, and only web rows');
  t.ok(all().every((u) => deltas(u).every((d) => d.total === 2)), 'with their total');
  const firstWith = (u: FleetUpdate[]) => deltas(u).find((d) => d.rows.some((r) => r.position === web1));
  t.ok(all().every((u) => JSON.stringify(firstWith(u)) === JSON.stringify(firstWith(all()[0]!))), 'the same message, whichever the transport');
  t.ok(deltas(otherUpdates).some((d) => d.rows.some((r) => r.id === 'db-1')), 'the unfiltered client gets db-1 too');
  t.ok(deltas(limitedUpdates).every((d) => d.rows.every((r) => r.id === 'web-2') && d.removed.every((id) => id === 'web-2')), 'the limited token never hears of another server');
});
