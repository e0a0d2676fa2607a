// Removing a server leaves no key of it; the retention's compare-and-delete removes a server once
// and never one that showed life after it was judged.
import t from 'tap';
import { Keys, NAMESPACE, ServerEvents, metricsRoom, serverDataKeys } from '@vigil/protocol';
import { REDIS_KINDS, startTestRedis } from '@vigil/testkit';
import { BatchWriter, ServerRemover, broadcastFrame, closeRedis, createRedis } from '../src/index.js';

// The same contract on a single node and on a Redis Cluster (where the registry decides: server-removal.ts).
for (const kind of REDIS_KINDS) t.test(kind, async (t) => {
  const redisProcess = await startTestRedis(kind);
  t.teardown(() => redisProcess.close());
  const redis = createRedis(redisProcess.url, 'command', { clusterNodes: redisProcess.clusterNodes });
  t.teardown(() => closeRedis(redis));
  const writer = new BatchWriter(redis);
  const remover = new ServerRemover(redis);

  async function writeServer(serverId: string, at: number): Promise<string> {
    const frame = broadcastFrame('test', NAMESPACE, metricsRoom(serverId), ServerEvents.processInfo);
    const entry = JSON.stringify({ serverId, at });
    await writer.write({
      appends: [
        { stream: Keys.metrics(serverId), maxLen: 10, latestKey: Keys.latest(serverId), body: `{"serverId":"${serverId}"}`, frame },
        { stream: Keys.logs(serverId), maxLen: 10, latestKey: null, body: `{"serverId":"${serverId}"}`, frame },
        { stream: Keys.events(serverId), maxLen: 10, latestKey: null, body: `{"serverId":"${serverId}"}`, frame },
      ],
      registry: [{ serverId, entry }],
      heartbeats: [{ serverId, at }],
    });
    return entry;
  }

  async function keysOf(serverId: string): Promise<string[]> {
    const left: string[] = [];
    if ((await redis.hexists(Keys.registry, serverId)) === 1) left.push('registry');
    if ((await redis.zscore(Keys.heartbeats, serverId)) !== null) left.push('heartbeat');
    for (const key of serverDataKeys(serverId)) if ((await redis.exists(key)) === 1) left.push(key);
    return left;
  }

  t.test('remove deletes every key of the server and no other server', async (t) => {
    await writeServer('gone-1', Date.now());
    await writeServer('kept-1', Date.now());
    t.equal((await keysOf('gone-1')).length, 6, 'the server had registry, heartbeat and four keys');
    t.equal(await remover.remove('gone-1'), true);
    t.same(await keysOf('gone-1'), [], 'nothing of it is left');
    t.equal((await keysOf('kept-1')).length, 6, 'the other server is untouched');
    t.equal(await remover.remove('gone-1'), false, 'a second removal finds nothing');
    t.equal(await remover.remove('never-was'), false, 'an unknown server is not removed');
  });

  t.test('removeIfExpired removes only what was judged, once', async (t) => {
    const old = Date.now() - 60_000;
    const entry = await writeServer('expired-1', old);
    const [trace] = (await remover.traces()).filter((s) => s.serverId === 'expired-1');
    t.same(trace, { serverId: 'expired-1', entry, heartbeatAt: old });
    const cutoff = Date.now() - 30_000;
    const results = await Promise.all([remover.removeIfExpired(trace!, cutoff), remover.removeIfExpired(trace!, cutoff)]);
    t.same(results.sort(), [false, true], 'two sweeps at once: exactly one removes');
    t.same(await keysOf('expired-1'), []);
  });

  t.test('removeIfExpired leaves a server that showed life after it was judged', async (t) => {
    const entry = await writeServer('alive-1', Date.now() - 60_000);
    const judged = { serverId: 'alive-1', entry, heartbeatAt: Date.now() - 60_000 };
    await redis.zadd(Keys.heartbeats, Date.now(), 'alive-1');
    t.equal(await remover.removeIfExpired(judged, Date.now() - 30_000), false, 'a newer heartbeat keeps it');
    await redis.zadd(Keys.heartbeats, Date.now() - 60_000, 'alive-1');
    await redis.hset(Keys.registry, 'alive-1', JSON.stringify({ serverId: 'alive-1', changed: true }));
    t.equal(await remover.removeIfExpired(judged, Date.now() - 30_000), false, 'a rewritten registry entry keeps it');
    t.equal((await keysOf('alive-1')).length, 6);
  });

  t.test('a heartbeat without a registry entry is found and removed too', async (t) => {
    await redis.zadd(Keys.heartbeats, Date.now() - 60_000, 'orphan-1');
    await redis.set(Keys.latest('orphan-1'), '{}');
    const trace = (await remover.traces()).find((s) => s.serverId === 'orphan-1');
    t.same(trace, { serverId: 'orphan-1', entry: null, heartbeatAt: trace?.heartbeatAt });
    t.equal(await remover.removeIfExpired(trace!, Date.now() - 30_000), true);
    t.same(await keysOf('orphan-1'), []);
  });
});
