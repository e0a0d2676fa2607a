// ShardPublisher keeps what it could not broadcast for the next call, bounded in count and in size:
// while Redis is away, a collector shipping long log lines must not grow without limit.
import t from 'tap';
import { startRedis, waitFor } from '@vigil/testkit';
import { PENDING_BROADCAST_CHARS_MAX, ShardPublisher, closeRedis, createRedis, type ShardMessage } from '../src/index.js';

t.test('broadcasts waiting for an absent Redis are bounded in size; the newest wait, the rest are counted as dropped', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const r = createRedis(redis.url, 'command');
  const sub = createRedis(redis.url, 'subscriber');
  t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
  const channel = 'socket.io#/monitoring#server-big#';
  let heard = 0;
  sub.on('smessage', () => heard++);
  await sub.ssubscribe(channel);
  await r.ping();

  const line = 'x'.repeat(1024 * 1024); // a MiB each: 40 of them are far over the bound
  const total = 40;
  const publisher = new ShardPublisher(r);
  await redis.stop();
  const messages = Array.from({ length: total }, (_, i): ShardMessage => ({ channel, stream: 'vigil:srv:{big}:logs', position: `${i + 1}-0`, message: line }));
  await publisher.publish(messages.slice(0, total / 2));
  await publisher.publish(messages.slice(total / 2));
  const kept = publisher.pending;
  t.ok(kept > 0, `${kept} broadcasts wait`);
  t.ok(kept * line.length <= PENDING_BROADCAST_CHARS_MAX, `they hold at most ${PENDING_BROADCAST_CHARS_MAX} characters`);
  t.equal(publisher.dropped, total - kept, 'the others are counted as dropped');

  await redis.start();
  // Pub/sub keeps nothing: the listener must be subscribed again (ioredis does so on its reconnect)
  // before the waiting broadcasts go out, or they reach nobody.
  await waitFor(
    async () => {
      const reply = (await r.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
      return Number(reply[1]) === 1;
    },
    { timeoutMs: 15_000, message: 'the listener to be subscribed again once Redis is back' },
  );
  await waitFor(
    async () => {
      await publisher.publish([]);
      return publisher.pending === 0;
    },
    { timeoutMs: 15_000, message: 'the waiting broadcasts to go out once Redis is back' },
  );
  await waitFor(() => heard === kept, { timeoutMs: 10_000, message: `${kept} broadcasts heard` });
});
