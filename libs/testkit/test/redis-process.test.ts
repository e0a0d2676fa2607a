import t from 'tap';
import { startRedis } from '../src/index.js';

t.test('a private redis-server answers, stops, and starts again on the same port', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  t.match(await redis.command('PING'), /^\+PONG/);
  t.match(await redis.command('SET', 'k', 'v'), /^\+OK/);
  await redis.stop();
  await t.rejects(redis.command('PING'), 'nothing answers while stopped');
  await redis.start();
  t.match(await redis.command('PING'), /^\+PONG/);
  t.match(await redis.command('GET', 'k'), /^\$-1/, 'a restarted server keeps nothing');
});
