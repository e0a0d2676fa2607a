// Reconnects: to another gateway through a load balancer when the client's gateway closes, after
// a gateway disconnects the client on purpose, and at once when the browser is back online. The
// client re-joins its subscriptions by itself every time.
import t from 'tap';
import { NAMESPACE, comparePositions, type ProcessInfoEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import type { NetworkStatus } from '../src/index.js';
import { Publisher, connected, recordingIo, startBalancedPair, startCluster, stateNames, type Teardown, type WireRecord } from './fixtures/cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes a sample every `everyMs` until stopped (at most `max`); stopped at the latest when the test ends. */
function pump(t: Teardown, publisher: Publisher, serverId: string, everyMs: number, max = 3000) {
  let stopped = false;
  const published: string[] = [];
  const done = (async () => {
    for (let n = 1; n <= max && !stopped; n++) {
      published.push(await publisher.sample(serverId, n));
      await sleep(everyMs);
    }
  })();
  const stop = async () => {
    stopped = true;
    await done;
  };
  // Registered after the cluster, so it stops before the publisher closes.
  t.teardown(stop);
  return { published, stop };
}

function strictlyIncreasing(events: ProcessInfoEvent[]): boolean {
  return events.every((e, i) => i === 0 || comparePositions(events[i - 1]!.position, e.position) < 0);
}

t.test('the gateway the client is on closes: it reconnects through the balancer to the other one and re-joins', async (t) => {
  const { publisher, client, states, lb, split } = await startBalancedPair(t);

  const got: ProcessInfoEvent[] = [];
  await client.subscribeMetrics('api', { onSample: (e) => got.push(e) });
  const samples = pump(t, publisher, 'api', 20);
  await waitFor(() => got.length >= 5, { message: 'live samples before the switch' });
  const [mine, other] = split();
  t.equal(mine.clients(), 1, 'the client is on one gateway');
  t.equal(other.clients(), 0, 'and not on the other');

  await mine.close();
  await waitFor(() => other.clients() === 1 && client.state.name === 'connected', { message: 'reconnected to the other gateway' });
  const atSwitch = got.length;
  await waitFor(() => got.length >= atSwitch + 10, { message: 'samples keep arriving after the switch' });
  await samples.stop();

  t.same(stateNames(states), ['connected', 'reconnecting', 'connected'], 'state events: connected → reconnecting → connected');
  const reconnecting = states.find((s) => s.name === 'reconnecting');
  t.match(reconnecting, { name: 'reconnecting', attempt: Number, reason: String }, 'with the attempt number and why');
  t.ok(strictlyIncreasing(got), 'samples strictly in position order, none twice');
  const lastPublished = samples.published[samples.published.length - 1]!;
  await waitFor(() => got[got.length - 1]!.position === lastPublished, { message: 'the last sample published' });
  t.ok(lb.routed.includes(other.port), 'the balancer routed the reconnect to the other gateway');
});

t.test('a gateway disconnecting its clients on purpose ("io server disconnect") does not make the client give up', async (t) => {
  const { gw, publisher, client, states } = await startCluster(t);
  const got: number[] = [];
  await client.subscribeMetrics('api', { onSample: (e) => got.push(e.processInfo.uptime) });
  await publisher.sample('api', 1);
  await waitFor(() => got.length === 1);

  gw.app.io.of(NAMESPACE).disconnectSockets(true);
  await waitFor(() => stateNames(states).length >= 3 && client.state.name === 'connected', { message: 'back by itself' });
  t.same(stateNames(states), ['connected', 'reconnecting', 'connected']);
  await waitFor(() => gw.clients() === 1);
  await publisher.sample('api', 2);
  await waitFor(() => got.length === 2, { message: 'the subscription was re-joined' });
  t.same(got, [1, 2]);
});

/** A stand-in for the browser's online/offline signals. */
function fakeNetwork(initiallyOnline: boolean) {
  let online = initiallyOnline;
  const listeners = new Set<(online: boolean) => void>();
  const network: NetworkStatus = {
    online: () => online,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    network,
    listeners,
    set(value: boolean) {
      online = value;
      for (const l of [...listeners]) l(value);
    },
  };
}

t.test('browser offline: shown as offline, not as attempts; back online: reconnects at once', async (t) => {
  const fake = fakeNetwork(true);
  // A long backoff: only the online signal can bring the client back within the test's wait.
  const { gw, publisher, client, states, startGateway } = await startCluster(t, {
    client: { network: fake.network, reconnection: { initialDelayMs: 30_000, maxDelayMs: 30_000, randomization: 0 } },
  });
  const got: number[] = [];
  await client.subscribeMetrics('api', { onSample: (e) => got.push(e.processInfo.uptime) });
  t.equal(fake.listeners.size, 1, 'the client watches the network');

  fake.set(false);
  t.equal(client.state.name, 'connected', 'still connected while the socket is up');
  await gw.close();
  await waitFor(() => client.state.name === 'offline', { message: 'offline once the connection is lost' });
  t.match(client.state, { name: 'offline', reason: 'network' });
  t.notOk(states.some((s) => s.name === 'reconnecting'), 'attempts are not shown while the browser is offline');

  await startGateway({}, gw.port);
  const started = Date.now();
  fake.set(true);
  await connected(client);
  t.ok(Date.now() - started < 10_000, 'reconnected right away, not after the 30 s backoff');
  t.same(stateNames(states), ['connected', 'offline', 'reconnecting', 'connected']);
  await publisher.sample('api', 1);
  await waitFor(() => got.length === 1, { message: 're-joined after coming back online' });

  client.close();
  t.equal(fake.listeners.size, 0, 'close() stops watching the network');
});

t.test('sixty subscriptions re-join after a switch, in the order they were made, through the gateway rate limit', async (t) => {
  const sent: WireRecord[] = [];
  const { publisher, client, split } = await startBalancedPair(t, { io: recordingIo([], sent) });
  // Every third one follows logs: 40 metrics and 20 logs subscriptions, more than the burst of 50 events.
  const ids = Array.from({ length: 60 }, (_, i) => `s${i}`);
  const samples = new Map<string, number[]>();
  const lines = new Map<string, string[]>();
  const made = await Promise.all(
    ids.map((id, i) => {
      if (i % 3 === 2) {
        lines.set(id, []);
        return client.subscribeLogs(id, { onLine: (e) => lines.get(id)!.push(e.logData.message) });
      }
      samples.set(id, []);
      return client.subscribeMetrics(id, { onSample: (e) => samples.get(id)!.push(e.processInfo.uptime) });
    }),
  );
  t.ok(made.every((s) => s.active), 'all sixty confirmed (the ones over the rate limit were retried)');

  const [mine, other] = split();
  const before = sent.length;
  await mine.close();
  // Lines logged while the client is between gateways.
  for (const id of lines.keys()) await publisher.logs(id, [{ level: 'info', message: 'during' }]);
  await waitFor(() => other.clients() === 1 && client.state.name === 'connected', { message: 'on the other gateway' });
  const rejoinOrder = sent
    .slice(before)
    .filter((r) => r.event === 'subscribe-server-metrics' || r.event === 'subscribe-server-logs')
    .slice(0, 60)
    .map((r) => (r.payload as { serverId: string }).serverId);
  t.same(rejoinOrder, ids, 're-joined in the order the subscriptions were made');

  for (const id of samples.keys()) await publisher.sample(id, 1);
  for (const id of lines.keys()) await publisher.logs(id, [{ level: 'info', message: 'after' }]);
  await waitFor(() => [...samples.values()].every((s) => s.length === 1) && [...lines.values()].every((l) => l.length === 2), {
    message: 'every subscription delivers on the new gateway',
  });
  t.ok([...lines.values()].every((l) => l.join() === 'during,after'), 'no log line lost between the gateways');
});
