// Host metrics through the client against a real gateway and Redis: the latest sample then live
// ones in order, re-joined after the connection drops (nothing twice, nothing backwards), a host
// outside the token refused with FORBIDDEN, unsubscribe stops delivery.
import t from 'tap';
import { NAMESPACE, type SystemMetricsEvent } from '@vigil/protocol';
import { HostWriter, closeRedis, createRedis } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { hostData, startCluster, testToken } from './fixtures/cluster.js';


t.test('samples in order, re-joined after a reconnect, refused outside the token, unsubscribe stops them', async (t) => {
  const token = await testToken({ sub: 'ops', vigil: { servers: ['*'], hosts: ['box-*'] } });
  const { gw, redis, client, startClient } = await startCluster(t, { client: { token } });
  const writerRedis = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(writerRedis));
  const writer = new HostWriter(writerRedis, { uid: 'client-tests', maxLen: 100 });
  const sample = (host: string, n: number) => writer.write({ host, collectorId: 'a', data: hostData(n), timestamp: new Date().toISOString() }, Date.now());

  await sample('box-1', 1);
  await sample('db-1', 1);
  const got: SystemMetricsEvent[] = [];
  const sub = await client.subscribeSystemMetrics('box-1', { onSample: (e) => got.push(e) });
  t.equal(sub.kind, 'system');
  t.equal(sub.host, 'box-1');
  t.ok(sub.active);
  await waitFor(() => got.length === 1, { message: 'the latest sample on subscribe' });
  for (let n = 2; n <= 4; n++) await sample('box-1', n);
  await waitFor(() => got.length === 4, { message: 'live samples' });

  // The connection drops: the client re-joins by itself; the gateway's latest (seen already) is dropped.
  for (const s of gw.app.io.of(NAMESPACE).sockets.values()) s.conn.close();
  await waitFor(() => [...gw.app.io.of(NAMESPACE).sockets.values()].some((s) => s.rooms.has('system-metrics-box-1')), { message: 're-joined the host room' });
  await sample('box-1', 5);
  await waitFor(() => got.length >= 5, { message: 'the next live sample after the reconnect' });
  t.same(got.map((e) => e.data.uptime), [1, 2, 3, 4, 5], 'nothing twice, nothing backwards');
  t.equal(sub.lastPosition, got[4]!.position);

  await t.rejects(client.subscribeSystemMetrics('db-1'), { code: 'VIGIL_ERR_FORBIDDEN' }, 'a host outside the token');
  await t.rejects(client.subscribeSystemMetrics('bad host'), { code: 'VIGIL_ERR_INVALID_PAYLOAD' }, 'an invalid host name');

  const { client: witness } = startClient({ token });
  const seen: number[] = [];
  await witness.subscribeSystemMetrics('box-1', { onSample: (e) => seen.push(e.data.uptime) });
  await sub.unsubscribe();
  t.notOk(sub.active);
  await sample('box-1', 6);
  await waitFor(() => seen.includes(6), { message: 'the witness got sample 6' });
  t.equal(got.length, 5, 'no delivery after unsubscribe');
});
