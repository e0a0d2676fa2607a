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
