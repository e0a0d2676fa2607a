// Metrics through the client against a real gateway and Redis: the latest sample then live ones,
// in order; re-sent and older positions dropped; unsubscribe stops delivery; refusals reject with
// their code; close() releases everything it opened.
import t from 'tap';
import { NAMESPACE, type ProcessInfoEvent } from '@vigil/protocol';
import { activeHandleCount, freePort, startRedis, waitFor } from '@vigil/testkit';
import { ClientErrorCodes, VigilClientError } from '../src/index.js';
import { Publisher, recordingIo, startClient, startCluster, startGateway, testToken, type RunningGateway } from './fixtures/cluster.js';

const uptimes = (events: ProcessInfoEvent[]) => events.map((e) => e.processInfo.uptime);

t.test('samples arrive in order, duplicates and older positions are dropped, unsubscribe stops delivery', async (t) => {
  const received: Array<{ event: string; payload: unknown }> = [];
  const { gw, publisher, client, startClient } = await startCluster(t, { client: { io: recordingIo(received) } });
  const { client: witness } = startClient();

  await publisher.sample('api', 1);
  const got: ProcessInfoEvent[] = [];
  const sub = await client.subscribeMetrics('api', { interval: 1000, onSample: (e) => got.push(e) });
  t.equal(sub.kind, 'metrics');
  t.ok(sub.active, 'active once confirmed');
  await waitFor(() => got.length === 1, { message: 'the latest sample on subscribe' });
  t.same(uptimes(got), [1]);

  const positions: string[] = [got[0]!.position];
  for (let n = 2; n <= 10; n++) positions.push(await publisher.sample('api', n));
  await waitFor(() => got.length === 10, { message: 'ten samples' });
  t.same(uptimes(got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'in publication order');
  t.same(got.map((e) => e.position), positions, 'each with the position Redis gave it');
  t.equal(sub.lastPosition, positions[9]);

  // The same position broadcast again (a duplicate delivery), and an older one: both dropped.
  const wire = () => received.filter((r) => r.event === 'process:info').map((r) => (r.payload as ProcessInfoEvent).position);
  const times = (p: string) => wire().filter((w) => w === p).length;
  await publisher.rebroadcastSample('api', 10, positions[9]!);
  await publisher.rebroadcastSample('api', 4, positions[3]!);
  await waitFor(() => times(positions[9]!) === 2 && times(positions[3]!) === 2, { message: 'the re-broadcasts on the wire' });
  // A reconnect re-subscribes, and the gateway re-sends the latest sample (a position already seen).
  for (const s of gw.app.io.of(NAMESPACE).sockets.values()) s.conn.close();
  await waitFor(() => times(positions[9]!) === 3, { message: 'the latest re-sent on re-join' });
  positions.push(await publisher.sample('api', 11));
  await waitFor(() => got.length >= 11, { message: 'the next live sample' });
  t.same(uptimes(got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'nothing delivered twice, nothing backwards');

  // After unsubscribe, a witness subscribed to the same server sees the next sample; the client does not.
  const seen: ProcessInfoEvent[] = [];
  await witness.subscribeMetrics('api', { onSample: (e) => seen.push(e) });
  await sub.unsubscribe();
  t.notOk(sub.active, 'inactive after unsubscribe');
  await sub.unsubscribe();
  t.pass('unsubscribing twice is harmless');
  await publisher.sample('api', 12);
  await waitFor(() => seen.some((e) => e.processInfo.uptime === 12), { message: 'witness got sample 12' });
  t.equal(got.length, 11, 'no delivery after unsubscribe');
});

t.test('two subscriptions to one server: each delivers, and leaving one keeps the other', async (t) => {
  const { publisher, client } = await startCluster(t);
  const a: number[] = [];
  const b: number[] = [];
  const subA = await client.subscribeMetrics('db', { onSample: (e) => a.push(e.processInfo.uptime) });
  await client.subscribeMetrics('db', { onSample: (e) => b.push(e.processInfo.uptime) });
  await publisher.sample('db', 1);
  await waitFor(() => a.length === 1 && b.length === 1);
  await subA.unsubscribe();
  await publisher.sample('db', 2);
  await waitFor(() => b.length === 2, { message: 'the remaining subscription still receives' });
  t.same(a, [1]);
  t.same(b, [1, 2]);
});

t.test('refusals reject with their code', async (t) => {
  const { client } = await startCluster(t, { gateway: { maxRoomsPerSocket: 1 } });
  await t.rejects(client.subscribeMetrics('bad id!'), { code: 'VIGIL_ERR_INVALID_PAYLOAD' }, 'an invalid server id');
  await t.rejects(client.subscribeMetrics('api', { interval: 5 }), { code: 'VIGIL_ERR_INVALID_PAYLOAD' }, 'an invalid interval');
  await client.subscribeMetrics('one');
  // The gateway's own refusal, passed through from its ack.
  const refused = client.subscribeMetrics('two');
  await t.rejects(refused, { code: 'VIGIL_ERR_TOO_MANY_ROOMS', name: 'VigilClientError' }, 'the gateway refused a second room');
  await refused.catch((err: unknown) => t.ok(err instanceof VigilClientError && !err.transient, 'a VigilClientError, not retried'));
});

t.test('a subscription made while the gateway is unreachable is joined once it is up', async (t) => {
  const redis = await startRedis();
  const publisher = new Publisher(redis.url);
  const port = await freePort();
  const { client, states } = startClient(`http://127.0.0.1:${port}`);
  let gw: RunningGateway | undefined;
  t.teardown(async () => {
    client.close();
    await publisher.close();
    await gw?.close();
    await redis.close();
  });
  const got: number[] = [];
  const pending = client.subscribeMetrics('late', { onSample: (e) => got.push(e.processInfo.uptime) });
  await waitFor(() => states.some((s) => s.name === 'reconnecting' && s.attempt >= 2), { message: 'attempts while unreachable' });
  t.equal(client.state.name, 'reconnecting', 'still trying');
  gw = await startGateway(redis.url, {}, port);
  const sub = await pending;
  t.ok(sub.active, 'confirmed once the gateway came up');
  await publisher.sample('late', 1);
  await waitFor(() => got.length === 1);
  t.same(got, [1]);
});

t.test('close() rejects what is pending, refuses new work and releases socket, timers and listeners', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url);
  t.teardown(async () => {
    await gw.close();
    await redis.close();
  });
  // Warm up: the first client loads modules and lazily creates process-wide state.
  const warm = startClient(gw.url).client;
  await warm.subscribeMetrics('warm');
  warm.close();
  await waitFor(() => gw.clients() === 0);
  const baseline = activeHandleCount();

  const { client, states } = startClient(gw.url);
  await client.subscribeMetrics('a');
  client.close();
  t.match(client.state, { name: 'offline', reason: 'closed' });
  t.match(states[states.length - 1], { name: 'offline', reason: 'closed' }, 'listeners heard the close');
  await t.rejects(client.subscribeMetrics('b'), { code: ClientErrorCodes.CLOSED }, 'no new subscriptions');
  client.close();
  t.pass('closing twice is harmless');
  await waitFor(() => gw.clients() === 0, { message: 'the gateway saw the client leave' });
  await waitFor(() => activeHandleCount() <= baseline, { message: `active handles back to ${baseline}` });
  t.pass('no socket or timer left behind');

  // A subscription still waiting (the gateway is unreachable) is rejected by close().
  const unreachable = startClient(`http://127.0.0.1:${await freePort()}`).client;
  const pending = unreachable.subscribeMetrics('x');
  unreachable.close();
  await t.rejects(pending, { code: ClientErrorCodes.CLOSED }, 'a pending subscription rejects on close');
  await waitFor(() => activeHandleCount() <= baseline, { message: 'reconnect timers released' });
});

t.test('handshake auth: the caller’s fields on every (re)connect, plus vigilRestore: false (the client re-joins by itself)', async (t) => {
  // Real tokens (the gateway verifies them), each with its own subject so they tell apart.
  const [abc, t1, t2] = await Promise.all(['abc', 't1', 't2'].map((sub) => testToken({ sub })));
  const provided = [t1!, t2!];
  const { gw, client: byObject, startClient } = await startCluster(t, { client: { auth: { token: abc } } });
  let asked = 0;
  const { client: byFunction } = startClient({
    auth: (cb) => {
      asked++;
      cb({ token: provided[asked - 1] });
    },
  });
  await byObject.subscribeMetrics('a');
  await byFunction.subscribeMetrics('a');
  const auths = () => [...gw.app.io.of(NAMESPACE).sockets.values()].map((s) => s.handshake.auth as Record<string, unknown>);
  t.same(auths().map((a) => [a.token, a.vigilRestore]).sort(), [[abc, false], [t1, false]].sort());
  for (const s of gw.app.io.of(NAMESPACE).sockets.values()) s.conn.close();
  await waitFor(() => asked === 2 && gw.clients() === 2, { message: 'the function asked again on reconnect' });
  t.ok(auths().some((a) => a.token === t2 && a.vigilRestore === false));
});
