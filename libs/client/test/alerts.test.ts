// subscribeAlerts: what fires now on subscribe, each change once, and after a reconnect to another
// gateway a re-join whose snapshot brings the firing set up to date (an alert resolved while the
// client was away drops out) without delivering anything twice.
import t from 'tap';
import type { AlertEvent } from '@vigil/protocol';
import { AlertWriter } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { alert, startBalancedPair } from './fixtures/cluster.js';


t.test('alerts survive a reconnect to the other gateway: re-joined, firing set refreshed, nothing twice', async (t) => {
  const { publisher, client, split } = await startBalancedPair(t);
  await publisher.sample('api', 1);
  const writer = new AlertWriter(publisher.redis, 'client-tests');
  await writer.write([{ body: alert('api', 'cpu', 'firing') }, { body: alert('api', 'chatter', 'firing', 'info') }]);

  const delivered: AlertEvent[] = [];
  let firing: readonly AlertEvent[] = [];
  const sub = await client.subscribeAlerts({ severity: 'warning', onAlert: (e) => delivered.push(e), onChange: (f) => (firing = f) });
  t.match(sub, { kind: 'alerts', serverId: null, severity: 'warning', active: true });
  t.same(delivered.map((e) => e.id), ['api/cpu'], 'what fires now at warning and above, on subscribe');
  t.same(sub.firing().map((e) => e.id), ['api/cpu']);

  const [mine, other] = split();
  await mine.close();
  // While the client moves: cpu resolves, mem fires.
  await writer.write([{ body: alert('api', 'cpu', 'resolved') }, { body: alert('api', 'mem', 'firing', 'critical') }]);
  await waitFor(() => other.clients() === 1 && client.state.name === 'connected', { message: 'reconnected to the other gateway' });
  await waitFor(() => firing.length === 1 && firing[0]!.id === 'api/mem', { message: 'the firing set refreshed by the re-join' });

  await writer.write([{ body: alert('api', 'disk', 'firing', 'critical') }]);
  await waitFor(() => delivered.some((e) => e.id === 'api/disk'), { message: 'live again after the re-join' });
  t.same(new Set(delivered.map((e) => e.position)).size, delivered.length, 'nothing delivered twice');
  t.same(sub.firing().map((e) => e.id).sort(), ['api/disk', 'api/mem']);
  t.notOk(delivered.some((e) => e.id === 'api/chatter'), 'nothing below warning');

  await sub.unsubscribe();
  await writer.write([{ body: alert('api', 'mem', 'resolved', 'critical') }]);
  const watcher = await client.subscribeAlerts({ serverId: 'api' });
  t.same(watcher.firing().map((e) => e.id).sort(), ['api/chatter', 'api/disk'], 'a per-server subscription gets that server at every severity');
  t.notOk(delivered.some((e) => e.id === 'api/mem' && e.state === 'resolved'), 'nothing after unsubscribe');
});
