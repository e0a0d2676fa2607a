// A server the client watches is removed (an admin's DELETE): the client says so with its
// 'server-removed' event, once, and the subscription stays for when the server comes back.
import t from 'tap';
import { waitFor } from '@vigil/testkit';
import type { ProcessInfoEvent, ServerRemoved } from '../src/index.js';
import { startCluster, testToken } from './fixtures/cluster.js';

t.test("'server-removed' is emitted once; the subscription delivers again if the server returns", async (t) => {
  const { gw, publisher, client } = await startCluster(t);
  await publisher.sample('api', 1);
  const samples: ProcessInfoEvent[] = [];
  const sub = await client.subscribeMetrics('api', { onSample: (e) => samples.push(e) });
  await waitFor(() => samples.length === 1, { message: 'the latest sample' });
  const removed: ServerRemoved[] = [];
  client.on('server-removed', (e) => removed.push(e));

  const admin = await testToken({ vigil: { servers: ['*'], admin: true } });
  const res = await gw.app.inject({ method: 'DELETE', url: '/api/servers/api', headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200);
  await waitFor(() => removed.length === 1, { message: 'server-removed' });
  t.match(removed[0], { serverId: 'api', reason: 'deleted' });
  t.ok(sub.active, 'the subscription stays');

  await publisher.sample('api', 2);
  await waitFor(() => samples.length === 2, { message: 'a sample after it registered again' });
  t.equal(removed.length, 1, 'told once');
});
