// The fleet summary through the client against a real gateway and Redis: ready with the snapshot
// when subscribeFleet resolves, kept current by deltas, setFilter replaces the rows, a new snapshot
// after a reconnect and after `resync-required`, only what the token allows, close() stops it.
import t from 'tap';
import { NAMESPACE, ServerEvents } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { FleetChange } from '../src/index.js';
import { startCluster, testToken } from './fixtures/cluster.js';

const ids = (rows: ReadonlyMap<string, unknown>) => [...rows.keys()].sort();

t.test('subscribeFleet: snapshot, deltas, setFilter, reconnect, resync-required, close', async (t) => {
  const { gw, publisher, client, startClient } = await startCluster(t);
  await publisher.sample('web-1', 1);
  await publisher.sample('web-2', 1);
  await publisher.sample('db-1', 1);

  const fleet = await client.subscribeFleet();
  t.ok(fleet.ready, 'ready when it resolves');
  t.equal(fleet.total, 3);
  t.same(ids(fleet.rows), ['db-1', 'web-1', 'web-2']);
  t.match(fleet.rows.get('web-1'), { id: 'web-1', status: 'running', uptime: 1 });
  const changes: FleetChange[] = [];
  fleet.on('update', (c) => changes.push(c));

  const p2 = await publisher.sample('web-1', 2);
  await waitFor(() => fleet.rows.get('web-1')?.position === p2, { message: 'the delta applied' });
  t.same(changes.at(-1), { snapshot: false, changed: ['web-1'], removed: [] });

  await fleet.setFilter({ id: 'web' });
  t.same(ids(fleet.rows), ['web-1', 'web-2'], 'the new snapshot replaced the rows');
  t.equal(fleet.total, 2);
  t.same(fleet.filter, { id: 'web' });
  t.match(changes.at(-1), { snapshot: true, removed: ['db-1'] });
  await t.rejects(fleet.setFilter({ id: 'a b' }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' }, 'a bad filter is refused here');
  t.same(ids(fleet.rows), ['web-1', 'web-2'], 'and changes nothing');
  await t.rejects(client.subscribeFleet(), { code: 'VIGIL_ERR_CLIENT_DUPLICATE_SUBSCRIPTION' }, 'one per client');

  // The connection drops; a sample meanwhile is in the snapshot of the re-subscribe.
  const snapshots = () => changes.filter((c) => c.snapshot).length;
  const before = snapshots();
  for (const s of gw.app.io.of(NAMESPACE).sockets.values()) s.conn.close();
  const p3 = await publisher.sample('web-2', 3);
  await waitFor(() => snapshots() > before && fleet.rows.get('web-2')?.position === p3, { message: 'a new snapshot after the reconnect' });
  t.same(ids(fleet.rows), ['web-1', 'web-2'], 'with the same filter');

  // resync-required: the client subscribes again (a new snapshot).
  const beforeResync = snapshots();
  for (const s of gw.app.io.of(NAMESPACE).sockets.values()) s.emit(ServerEvents.resyncRequired, { serverIds: [], reason: 'test', timestamp: new Date().toISOString() });
  await waitFor(() => snapshots() > beforeResync, { message: 'a snapshot after resync-required' });

  // A token limited to some servers.
  const token = await testToken({ sub: 'tenant', vigil: { servers: ['web-2'] } });
  const { client: tenant } = startClient({ token });
  const limited = await tenant.subscribeFleet();
  t.same(ids(limited.rows), ['web-2']);
  t.equal(limited.total, 1);

  await fleet.close();
  const after = changes.length;
  const p4 = await publisher.sample('web-2', 4);
  await waitFor(() => limited.rows.get('web-2')?.position === p4, { message: 'the other subscriber got the delta' });
  t.equal(changes.length, after, 'nothing after close()');
  t.same(ids(fleet.rows), ['web-1', 'web-2'], 'the last view stays readable');
  const again = await client.subscribeFleet({ status: ['running'] });
  t.equal(again.total, 3, 'a new subscription after close()');
});
