import t from 'tap';
import { startRedisCluster } from '../src/index.js';

t.test('a private Redis Cluster: three masters, three replicas, a master killed and replaced, nothing left behind', async (t) => {
  const started = Date.now();
  const cluster = await startRedisCluster();
  t.teardown(() => cluster.close());
  t.comment(`cluster up in ${Date.now() - started} ms`);
  t.equal(cluster.nodes.length, 6, 'six nodes');
  t.equal(cluster.seeds.split(',').length, 6, 'every node is a seed');
  const masters = await cluster.masters();
  t.equal(masters.length, 3, 'three masters');
  for (const n of cluster.nodes) t.match(await n.command('CLUSTER', 'INFO'), /cluster_state:ok/, `${n.address} says ok`);
  // A key lands on the master of its slot; another node redirects.
  const slotOfFoo = 12182; // CLUSTER KEYSLOT foo
  t.match(await masters[0]!.command('CLUSTER', 'KEYSLOT', 'foo'), new RegExp(`:${slotOfFoo}`));
  const owner = await cluster.masterOfSlot(slotOfFoo);
  t.match(await owner.command('SET', 'foo', 'bar'), /^\+OK/);
  const other = masters.find((m) => m !== owner)!;
  t.match(await other.command('GET', 'foo'), /^-MOVED 12182 /, 'another master redirects');

  const killedAt = Date.now();
  const dead = await cluster.killMaster(slotOfFoo);
  t.comment(`failover done in ${Date.now() - killedAt} ms`);
  t.equal(dead, owner, 'the master of the slot was killed');
  t.equal(dead.pid, null, 'it is not running');
  const successor = await cluster.masterOfSlot(slotOfFoo);
  t.not(successor, dead, 'a replica serves the slot now');
  t.match(await successor.command('GET', 'foo'), /bar/, 'with the data it replicated');
  t.equal((await cluster.masters()).length, 3, 'three masters again');

  const ports = cluster.nodes.map((n) => n.port);
  await cluster.close();
  const { createConnection } = await import('node:net');
  for (const port of ports) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.on('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    t.ok(refused, `nothing listens on ${port} after close`);
  }
});
