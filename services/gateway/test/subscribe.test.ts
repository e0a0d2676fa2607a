// What a subscribing client sees: the latest sample at once from any gateway, confirmations,
// status, unsubscription, and the seed protocol's small events.
import t from 'tap';
import { ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { ServerStore } from '@vigil/store';
import { ALL_ACCESS_TOKEN, collect, connectClient, emitAck, startStack } from './helpers.js';
import { WsTestClient } from './ws-helpers.js';

t.test('the latest sample arrives immediately on subscribe, from either gateway', async (t) => {
  const { gws, collector } = await startStack(t, { gateways: 2 });
  // A collector configured at 5 s: the ack says the interval samples come at.
  await collector.sample('api', 1, { intervalMs: 5000 });
  const newest = await collector.sample('api', 2, { intervalMs: 5000 });

  for (const gw of gws) {
    const client = await connectClient(gw.url);
    t.teardown(() => client.close());
    const infos = collect<ProcessInfoEvent>(client, ServerEvents.processInfo);
    const confirmations = collect<Record<string, unknown>>(client, ServerEvents.subscriptionConfirmed);
    const ack = await emitAck<Record<string, unknown>>(client, 'subscribe-server-metrics', { serverId: 'api', interval: 5000 });
    t.match(ack, { ok: true, room: 'server-metrics-api', serverId: 'api', interval: 5000, latest: true });
    await waitFor(() => infos.length === 1 && confirmations.length === 1, { message: 'latest sample and confirmation' });
    t.equal(infos[0]!.position, newest, 'the newest sample, with its position');
    t.equal(infos[0]!.processInfo.uptime, 2);
    t.match(confirmations[0], { room: 'server-metrics-api', serverId: 'api', interval: 5000, timestamp: String });
  }
});

t.test('a registered server with no sample yet: subscription confirmed, latest false, samples flow later', async (t) => {
  const { gw, collector, client: newClient } = await startStack(t);
  const client = await newClient();
  const infos = collect<ProcessInfoEvent>(client, ServerEvents.processInfo);
  await collector.register('new-one', { intervalMs: 5000 });
  const ack = await emitAck<Record<string, unknown>>(client, 'subscribe-server-metrics', { serverId: 'new-one' });
  t.match(ack, { ok: true, latest: false, interval: 5000 }, 'interval: the configured one (5000 ms, as in the earlier system)');
  await collector.sample('new-one', 7);
  await waitFor(() => infos.length === 1);
  t.equal(infos[0]!.processInfo.uptime, 7);

  // A server no collector registered costs nothing: no room, no Redis channel.
  for (const event of ['subscribe-server-metrics', 'subscribe-server-logs']) {
    t.match(await emitAck(client, event, { serverId: 'never-registered' }), { ok: false, error: { code: 'VIGIL_ERR_UNKNOWN_SERVER' } }, `${event}: unknown server refused`);
  }
  const socket = gw.app.io.of('/monitoring').sockets.get(client.id!)!;
  t.same([...socket.rooms].filter((r) => r.includes('never-registered')), [], 'and no room was joined');
});

t.test('connection-established, status, ping, unsubscribe by room', async (t) => {
  const { gw, collector } = await startStack(t);
  const { io } = await import('socket.io-client');
  const client = io(`${gw.url}/monitoring`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ALL_ACCESS_TOKEN } });
  t.teardown(() => client.close());
  const established = await new Promise<Record<string, unknown>>((resolve) => client.once(ServerEvents.connectionEstablished, resolve));
  t.match(established, { clientId: String, timestamp: String });
  t.equal(established.clientId, client.id, 'clientId is the socket id');

  await collector.register(['a', 'b']);
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'a' });
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'b' });
  const statusEvents = collect<Record<string, unknown>>(client, ServerEvents.connectionStatus);
  const status = await emitAck<Record<string, unknown>>(client, 'get-connection-status');
  t.match(status, { ok: true, clientId: client.id, connectedAt: String, lastActivity: String });
  t.same([...(status.subscribedRooms as string[])].sort(), ['server-metrics-a', 'server-metrics-b']);
  await waitFor(() => statusEvents.length === 1, { message: 'connection-status event' });

  const pong = await emitAck<Record<string, unknown>>(client, 'ping', { timestamp: 123 });
  t.match(pong, { ok: true, echo: 123 });

  const infos = collect<ProcessInfoEvent>(client, ServerEvents.processInfo);
  const unsubscribed = collect<Record<string, unknown>>(client, ServerEvents.unsubscriptionConfirmed);
  t.match(await emitAck(client, 'unsubscribe', { room: 'server-metrics-a' }), { ok: true, room: 'server-metrics-a', wasSubscribed: true });
  await waitFor(() => unsubscribed.length === 1);
  await collector.sample('a', 1);
  await collector.sample('b', 2);
  await waitFor(() => infos.length === 1);
  t.same(infos.map((i) => i.serverId), ['b'], 'no more samples of the room left');
  t.match(await emitAck(client, 'unsubscribe', { room: 'server-metrics-a' }), { ok: true, wasSubscribed: false }, 'leaving twice is harmless');
  t.match(await emitAck(client, 'unsubscribe', { room: 'lobby' }), { ok: false, error: { code: 'VIGIL_ERR_UNKNOWN_ROOM' } });
});

t.test('a server whose collector stopped turns stale, on REST and for subscribers', async (t) => {
  const { gw, collector, client: newClient } = await startStack(t, { gateway: { staleSweepMs: 50 } });
  const client = await newClient();
  const changes = collect<Record<string, unknown>>(client, ServerEvents.serverStatusChanged);
  await collector.sample('quiet', 1, { staleAfterMs: 400 });
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'quiet' });
  const res = await gw.inject('/api/servers/quiet');
  t.equal(res.json().status, 'running', 'running while the heartbeat is fresh');
  // The collector says nothing more.
  await waitFor(() => changes.length === 1, { timeoutMs: 5000, message: 'stale event' });
  t.match(changes[0], { serverId: 'quiet', status: 'stale', position: null });
  t.equal((await gw.inject('/api/servers/quiet')).json().status, 'stale', 'REST agrees');
  // It comes back.
  await collector.sample('quiet', 2, { staleAfterMs: 400 });
  await waitFor(() => changes.length === 2, { message: 'running again' });
  t.match(changes[1], { serverId: 'quiet', status: 'running' });
  // A client subscribing to an already stale server hears it at once.
  await waitFor(async () => (await gw.inject('/api/servers/quiet')).json().status === 'stale', { message: 'stale again' });
  const late = await connectClient(gw.url);
  t.teardown(() => late.close());
  const lateChanges = collect<Record<string, unknown>>(late, ServerEvents.serverStatusChanged);
  await emitAck(late, 'subscribe-server-metrics', { serverId: 'quiet' });
  await waitFor(() => lateChanges.length === 1);
  t.match(lateChanges[0], { serverId: 'quiet', status: 'stale' });
});

t.test('a stale server found by a subscriber before any sweep: every client in the room hears `stale` once', async (t) => {
  // The sweep never comes during this test: only the subscriber can find the server stale.
  const { gw, collector, client: newClient } = await startStack(t, { gateway: { staleSweepMs: 600_000 } });
  await collector.sample('lapsed', 1, { staleAfterMs: 400 });
  const early = await newClient();
  const earlyChanges = collect<Record<string, unknown>>(early, ServerEvents.serverStatusChanged);
  await emitAck(early, 'subscribe-server-metrics', { serverId: 'lapsed' });
  await waitFor(async () => (await gw.inject('/api/servers/lapsed')).json().status === 'stale', { message: 'the heartbeat to lapse' });

  const late = await newClient();
  const lateChanges = collect<Record<string, unknown>>(late, ServerEvents.serverStatusChanged);
  await emitAck(late, 'subscribe-server-metrics', { serverId: 'lapsed' });
  await waitFor(() => earlyChanges.length >= 1, { message: 'the client already in the room to hear stale' });
  t.match(earlyChanges, [{ serverId: 'lapsed', status: 'stale', position: null }], 'the client already in the room hears it, once');

  // A third subscriber: stale again for itself only; the two before it hear nothing more.
  const third = await newClient();
  const thirdChanges = collect<Record<string, unknown>>(third, ServerEvents.serverStatusChanged);
  await emitAck(third, 'subscribe-server-metrics', { serverId: 'lapsed' });
  t.match(thirdChanges, [{ serverId: 'lapsed', status: 'stale' }], 'the third subscriber hears it before its ack');
  // One more round trip each: anything sent to them before it has arrived.
  await emitAck(early, 'subscribe-server-metrics', { serverId: 'lapsed' });
  await emitAck(late, 'subscribe-server-metrics', { serverId: 'lapsed' });
  t.equal(earlyChanges.length, 1 + 1, 'the first client: once from the room, once more for its own second subscribe');
  t.equal(lateChanges.filter((c) => c.status === 'stale').length, 2, 'the late client: once when it joined, once for its second subscribe');
  // t.match on an array checks only the entries it lists: a second stale would have passed it.
  t.equal(thirdChanges.length, 1, 'the third subscriber: once');
});

t.test('a client whose read of a stale server is under way when the room is told: it hears `stale` once, on both transports', async (t) => {
  // No sweep during this test: the room is told by another client's subscribe (announceStale).
  const { gw, collector, client: newClient } = await startStack(t, { gateway: { staleSweepMs: 600_000 } });
  await collector.sample('held', 1, { staleAfterMs: 300 });
  await waitFor(async () => (await gw.inject('/api/servers/held')).json().status === 'stale', { message: 'the heartbeat to lapse' });
  // The next two reads of the server (the subscribes of `reading` and of `ws`) wait for `release`.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let holding = 2;
  let held = 0;
  const get = ServerStore.prototype.get;
  ServerStore.prototype.get = async function (this: ServerStore, serverId: string) {
    if (serverId === 'held' && holding > 0) {
      holding--;
      held++;
      await gate;
    }
    return get.call(this, serverId);
  };
  t.teardown(() => {
    ServerStore.prototype.get = get;
  });

  const reading = await newClient();
  const readingChanges = collect<Record<string, unknown>>(reading, ServerEvents.serverStatusChanged);
  const ws = await WsTestClient.connect(gw.url);
  t.teardown(() => ws.close());
  const acks = [emitAck(reading, 'subscribe-server-metrics', { serverId: 'held' }), ws.request('subscribe-server-metrics', { serverId: 'held' })];
  await waitFor(() => held === 2, { message: 'both reads under way (both clients in the room)' });
  const other = await newClient();
  const otherChanges = collect<Record<string, unknown>>(other, ServerEvents.serverStatusChanged);
  await emitAck(other, 'subscribe-server-metrics', { serverId: 'held' });
  t.match(otherChanges, [{ serverId: 'held', status: 'stale' }], 'the client that found it stale told the room');
  release();
  for (const ack of await Promise.all(acks)) t.match(ack, { ok: true });
  // One more round trip each: anything sent to them before it has arrived.
  await emitAck(reading, 'ping', { timestamp: 1 });
  await ws.request('ping', { timestamp: 1 });
  await emitAck(other, 'ping', { timestamp: 1 });
  t.equal(readingChanges.filter((c) => c.status === 'stale').length, 1, 'the Socket.IO client heard stale once (from the room), not again from its own read');
  t.equal(ws.got<Record<string, unknown>>(ServerEvents.serverStatusChanged).filter((c) => c.status === 'stale').length, 1, 'the /ws client too');
  t.equal(otherChanges.length, 1, 'the client that told the room: once');
});
