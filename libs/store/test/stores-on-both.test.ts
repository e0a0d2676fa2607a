// The stores' contract on a single node and on a Redis Cluster: what a tick of many servers writes
// is read back whole (list, heartbeats, entries, latest), alerts are stored and broadcast once to
// both their rooms with the stale guard still judged, a host sample and interest of several
// collectors (each key its own slot) are written and read. On the cluster, the servers' keys spread
// over every master, so any call that crossed slots would fail here.
import t from 'tap';
import { AlertKeys, Keys, NAMESPACE, ServerEvents, alertsSeverityRoom, metricsRoom, type AlertBody } from '@vigil/protocol';
import { REDIS_KINDS, startTestRedis, waitFor } from '@vigil/testkit';
import {
  AlertStore,
  AlertWriter,
  BatchWriter,
  adapterChannel,
  HostStore,
  HostWriter,
  InterestStore,
  ShardPublisher,
  ServerStore,
  broadcastFrame,
  closeRedis,
  createRedis,
  keySlot,
  publishGuardKey,
} from '../src/index.js';

const SERVERS = 24;
const now = () => new Date().toISOString();

function entry(serverId: string, status = 'running') {
  return JSON.stringify({ serverId, targetId: serverId, host: 'h', collectorId: 'c', pid: 100, command: null, startedAt: null, status, restarts: 0, intervalMs: 1000, staleAfterMs: 5000, updatedAt: now() });
}
function sample(serverId: string, n: number) {
  return JSON.stringify({ serverId, processInfo: { pid: 100, cpu: n, memory: { rss: 1000 + n, heapUsed: 0, heapTotal: 0, external: 0 }, uptime: n, timestamp: now() }, timestamp: now() });
}
function alert(serverId: string, state: 'firing' | 'resolved', rule = 'stale'): AlertBody {
  return { id: `${serverId}/${rule}`, rule, severity: 'critical', serverId, host: 'h', state, message: state, value: null, since: now(), timestamp: now() };
}

for (const kind of REDIS_KINDS) {
  t.test(`${kind}: stores read back what a tick of many servers wrote; alerts, hosts and interest`, async (t) => {
    const redis = await startTestRedis(kind);
    t.teardown(() => redis.close());
    const r = createRedis(redis.url, 'command', { clusterNodes: redis.clusterNodes });
    const sub = createRedis(redis.url, 'subscriber', { clusterNodes: redis.clusterNodes });
    t.teardown(() => Promise.all([closeRedis(r), closeRedis(sub)]));
    const ids = Array.from({ length: SERVERS }, (_, i) => `srv-${i}`);
    if (redis.cluster) {
      const masters = new Set(await Promise.all(ids.map(async (id) => (await redis.cluster!.masterOfSlot(keySlot(Keys.latest(id)))).address)));
      t.equal(masters.size, 3, 'the servers spread over the three masters');
    }

    // A tick: every server's sample, registry entry and heartbeat, in one write, twice.
    const writer = new BatchWriter(r);
    const at = Date.now();
    for (const n of [1, 2]) {
      await writer.write({
        appends: ids.map((id) => ({ stream: Keys.metrics(id), maxLen: 100, latestKey: Keys.latest(id), body: sample(id, n), frame: broadcastFrame('t', NAMESPACE, metricsRoom(id), ServerEvents.processInfo) })),
        registry: ids.map((id) => ({ serverId: id, entry: entry(id) })),
        heartbeats: ids.map((id) => ({ serverId: id, at })),
      });
    }
    t.same(writer.broadcasts, { pending: 0, dropped: 0 }, 'every broadcast went out');
    const store = new ServerStore(r);
    const list = await store.list();
    t.same(list.map((s) => s.serverId), [...ids].sort(), 'the list has every server');
    t.ok(list.every((s) => s.latest?.processInfo.cpu === 2), 'each with its newest sample');
    const beats = await store.heartbeats(ids);
    t.ok([...beats.values()].every((b) => b.at === at && b.status === 'running'), 'heartbeats and statuses of all');
    t.equal((await store.entries(ids)).size, SERVERS, 'registry entries of all');
    t.match(await store.get('srv-3'), { serverId: 'srv-3', latest: { processInfo: { cpu: 2 } } });
    t.equal((await store.metrics('srv-3', { limit: 10 })).items.length, 2, 'history of one server');

    // Alerts: stored, firing, and broadcast once to the room of every server and of its own.
    const rooms = [alertsSeverityRoom(null, 'critical'), alertsSeverityRoom('srv-1', 'critical')];
    const got = new Map<string, string[]>();
    sub.on('smessage', (channel: string, message: string) => got.set(channel, [...(got.get(channel) ?? []), message]));
    for (const room of rooms) await sub.ssubscribe(adapterChannel(NAMESPACE, room));
    const alerts = new AlertWriter(r, 'test-uid');
    const [fired] = await alerts.write([{ body: alert('srv-1', 'firing'), guard: { want: 'old', cutoffMs: at - 1000 } }]);
    t.equal(fired, null, 'the stale guard holds: srv-1 heartbeat is fresh, no stale alert');
    const [position] = await alerts.write([{ body: alert('srv-1', 'firing'), guard: { want: 'old', cutoffMs: at + 1000 } }]);
    t.type(position, 'string', 'with an older cutoff it fires');
    t.same(await alerts.write([{ body: alert('srv-1', 'firing') }]), [null], 'firing twice is no change');
    await waitFor(() => got.size === 2, { message: 'the alert on both rooms' });
    for (const room of rooms) {
      const messages = got.get(adapterChannel(NAMESPACE, room)) ?? [];
      t.equal(messages.length, 1, `${room}: once`);
      t.match(messages[0], new RegExp(`"position":"${position}"`), `${room}: with its position`);
    }
    const firing = await new AlertStore(r).firing();
    t.same(firing.map((a) => [a.id, a.position]), [['srv-1/stale', position]], 'the firing hash has it');
    t.equal(await r.exists(AlertKeys.stream), 1);
    if (redis.cluster) t.equal(await r.exists(publishGuardKey(adapterChannel(NAMESPACE, rooms[0]!))), 1, 'the publish guard lives in the channel slot');

    // Host metrics: the host's keys and the hosts registry, in their own slots.
    const hosts = new HostWriter(r, { uid: 'test-uid', maxLen: 10 });
    const hostBody = { host: 'web-1', collectorId: 'c', timestamp: now() } as unknown as Parameters<HostWriter['write']>[0];
    await hosts.write(hostBody, Date.now());
    t.match(await new HostStore(r).list(), [{ host: 'web-1' }], 'the host is listed');

    // Interest of one gateway for three collectors (three keys, three slots), read back by each.
    const interest = new InterestStore(r);
    await interest.write('gw-1', new Map(['c-a', 'c-b', 'c-c'].map((c, i) => [c, [{ serverId: `srv-${i}`, intervalMs: 500 }]])), 5000, 30_000);
    for (const [i, c] of ['c-a', 'c-b', 'c-c'].entries()) t.same([...(await interest.read(c, 10))], [[`srv-${i}`, 500]], `${c} reads its interest`);

    if (redis.cluster) {
      // The publish guard: a retry of what went out, or an older position after a newer one, is not sent again.
      const publisher = new ShardPublisher(r);
      const channel = adapterChannel(NAMESPACE, metricsRoom('guarded'));
      const heard: string[] = [];
      sub.on('smessage', (c: string, message: string) => c === channel && heard.push(message));
      await sub.ssubscribe(channel);
      const m = (position: string, stream = 's1') => ({ channel, stream, position, message: `${stream}@${position}` });
      await publisher.publish([m('100-0'), m('100-1')]);
      await publisher.publish([m('100-1'), m('99-5'), m('101-0')]);
      await publisher.publish([m('50-0', 's2')]);
      await waitFor(() => heard.length >= 4, { message: 'four broadcasts' });
      await publisher.publish([m('101-0')]);
      // A marker after the repeat: once it is heard, the repeat would have been too.
      await publisher.publish([m('102-0')]);
      await waitFor(() => heard.includes('s1@102-0'), { message: 'the marker' });
      t.same(heard, ['s1@100-0', 's1@100-1', 's1@101-0', 's2@50-0', 's1@102-0'], 'each position once, in order per stream; repeats and older ones held back');
      t.same([publisher.pending, publisher.dropped], [0, 0]);
    }
  });
}
