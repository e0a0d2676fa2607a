import t from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import { startRedis } from '@vigil/testkit';
import { closeRedis, createRedis, parseRedisUrl } from '../src/index.js';

t.test('Redis URLs: hosts, ports, users, passwords, databases, TLS', async (t) => {
  t.match(parseRedisUrl('redis://127.0.0.1:6380'), { host: '127.0.0.1', port: 6380, db: 0 });
  t.match(parseRedisUrl('redis://cache'), { host: 'cache', port: 6379 });
  t.match(parseRedisUrl('redis://:s%40cret@h:1/3'), { host: 'h', port: 1, db: 3, password: 's@cret' });
  t.match(parseRedisUrl('redis://alice:pw@h'), { username: 'alice', password: 'pw' });
  t.match(parseRedisUrl('redis://[::1]:6379'), { host: '::1' });
  const tls = parseRedisUrl('rediss://user:pw@redis.example.internal:6380');
  t.match(tls, { host: 'redis.example.internal', port: 6380, tls: { servername: 'redis.example.internal' } });
  t.equal(parseRedisUrl('redis://h').tls, undefined, 'no TLS for redis://');
  t.same(parseRedisUrl('rediss://127.0.0.1:6380').tls, {}, 'TLS to an IP: no SNI (checked against the IP SAN instead)');
  for (const bad of ['', 'localhost:6379', 'http://h', 'redis://h/99', 'redis://h/x']) {
    t.throws(() => parseRedisUrl(bad), { code: ErrorCodes.REDIS_URL_INVALID }, `${bad || '(empty)'} is refused with a code`);
  }
  for (const bad of ['ftp://user:hunter2@h', 'not a url with hunter2']) {
    try {
      parseRedisUrl(bad);
      t.fail('should have thrown');
    } catch (err) {
      t.notMatch((err as Error).message, /hunter2/, 'a refused URL never echoes its password');
    }
  }
});

t.test('a password-protected Redis is reached through the URL', async (t) => {
  const redis = await startRedis({ password: 'p@ss word' });
  t.teardown(() => redis.close());
  t.match(redis.url, /^redis:\/\/:p%40ss%20word@127\.0\.0\.1:\d+$/);
  const client = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(client));
  t.equal(await client.ping(), 'PONG');
  const wrong = createRedis(redis.url.replace('p%40ss%20word', 'nope'), 'command');
  t.teardown(() => closeRedis(wrong));
  await t.rejects(wrong.ping(), 'a wrong password fails instead of hanging');
});

t.test('Redis Cluster seed lists: host:port items, checked with their own code', async (t) => {
  const { parseClusterNodes, checkClusterTarget } = await import('../src/index.js');
  t.same(parseClusterNodes('127.0.0.1:7000, redis-1.internal:7001,[::1]:7002'), [
    { host: '127.0.0.1', port: 7000 },
    { host: 'redis-1.internal', port: 7001 },
    { host: '::1', port: 7002 },
  ]);
  for (const bad of ['', ' , ', 'h', 'h:0', 'h:70000', 'h:x', 'redis://h:1', 'a b:1', Array.from({ length: 65 }, (_, i) => `h:${i + 1}`).join(',')]) {
    t.throws(() => parseClusterNodes(bad), { code: ErrorCodes.REDIS_CLUSTER_NODES_INVALID }, `"${bad.slice(0, 30)}" is refused`);
  }
  // A seed written as a URL with credentials is refused without echoing its password (it ends up in a log).
  const err = (() => {
    try {
      parseClusterNodes('h:1,redis://vigil-gateway:s3cret-pw@h:2');
    } catch (e) {
      return e as Error & { code?: string };
    }
    return null;
  })();
  t.equal(err?.code, ErrorCodes.REDIS_CLUSTER_NODES_INVALID, 'a seed with credentials is refused');
  t.notMatch(err?.message ?? 's3cret-pw', /s3cret-pw|vigil-gateway/, 'its message does not hold the password or user');
  t.match(err?.message, /…@h:2/, 'it still names the seed');
  t.throws(() => checkClusterTarget('redis://h/2', 'h:1'), { code: ErrorCodes.REDIS_CLUSTER_NODES_INVALID, message: /only database 0/ });
  t.doesNotThrow(() => checkClusterTarget('rediss://u:p@h', 'h:1,h:2'));
  t.throws(() => createRedis('redis://h', 'command', { clusterNodes: 'nope' }), { code: ErrorCodes.REDIS_CLUSTER_NODES_INVALID }, 'createRedis checks too');
});

t.test('a client made from cluster seeds is a Cluster that reaches every master, and closes', async (t) => {
  const { startRedisCluster } = await import('@vigil/testkit');
  const { isCluster, keySlot } = await import('../src/index.js');
  const cluster = await startRedisCluster();
  t.teardown(() => cluster.close());
  // One seed is enough: the rest is learned from the cluster.
  const client = createRedis(`redis://${cluster.nodes[0]!.address}`, 'command', { clusterNodes: cluster.nodes[0]!.address });
  t.teardown(() => closeRedis(client));
  t.ok(isCluster(client), 'a Cluster');
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const k of keys) await client.set(k, k);
  const owners = new Set(await Promise.all(keys.map(async (k) => (await cluster.masterOfSlot(keySlot(k))).address)));
  t.ok(owners.size >= 2, `the keys landed on ${owners.size} masters`);
  for (const k of keys) t.equal(await client.get(k), k);
  t.equal(Number((await cluster.nodes[0]!.command('CLUSTER', 'KEYSLOT', 'vigil:srv:{x}:latest')).slice(1)), keySlot('vigil:srv:{x}:latest'), 'keySlot agrees with Redis');
  await closeRedis(client);
  t.equal(client.status, 'end', 'closed');
});
