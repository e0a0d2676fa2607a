// Asking for faster samples through the client: the interval asked is sent on every (re)join, the
// interval the gateway confirms is exposed and reported, setInterval() asks again, and several
// subscriptions to one server ask the fastest of theirs (one socket is in a room once).
import t from 'tap';
import { ErrorCodes, Keys } from '@vigil/protocol';
import { InterestStore } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { startCluster } from './fixtures/cluster.js';

t.test('asked, confirmed, changed, and the fastest of the subscriptions to a server', async (t) => {
  const { publisher, client } = await startCluster(t);
  await publisher.sample('api', 1);
  // Its collector samples every 5 s and takes requests down to 1 s.
  const entry = JSON.parse((await publisher.redis.hget(Keys.registry, 'api'))!) as Record<string, unknown>;
  await publisher.redis.hset(Keys.registry, 'api', JSON.stringify({ ...entry, intervalMs: 5000, minIntervalMs: 1000 }));
  const store = new InterestStore(publisher.redis);
  const recorded = async () => Object.fromEntries(await store.read('client-tests', 10));

  const toldA: number[] = [];
  const toldB: number[] = [];
  const a = await client.subscribeMetrics('api', { interval: 2000, onInterval: (ms) => toldA.push(ms) });
  t.equal(a.asked, 2000);
  t.equal(a.interval, 2000, 'confirmed as asked');
  await waitFor(async () => (await recorded()).api === 2000, { message: 'the gateway records 2000' });

  const b = await client.subscribeMetrics('api', { onInterval: (ms) => toldB.push(ms) });
  t.equal(b.asked, undefined);
  t.equal(b.interval, 2000, 'a second subscription asks the fastest of the server: its samples come every 2 s too');

  t.equal(await a.setInterval(500), 1000, 'faster than the minimum: confirmed at the minimum');
  t.equal(b.interval, 1000, 'every subscription of the server is told');
  await waitFor(async () => (await recorded()).api === 500, { message: 'the gateway records the ask' });

  await t.rejects(a.setInterval(50), { code: ErrorCodes.INVALID_PAYLOAD }, 'an interval out of bounds is refused here');
  t.equal(a.asked, 500, 'and changes nothing');

  await a.unsubscribe();
  await waitFor(() => b.interval === 5000, { message: 'the remaining subscription asks nothing: the configured interval' });
  await waitFor(async () => (await recorded()).api === undefined, { message: 'nothing recorded' });
  t.same(toldA, [2000, 1000]);
  t.same(toldB, [2000, 1000, 5000]);
  t.equal(await b.setInterval(undefined), 5000, 'asking the configured interval again changes nothing');
});
