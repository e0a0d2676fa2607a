// The local cluster of `npm start`, end to end: `node scripts/run-local.mjs` itself (three
// gateways, nginx in front of them, two collectors, the demo processes) against a private
// redis-server, on free ports, sampling every 250 ms (cluster-harness.ts runs it; the scenarios
// that cluster-starved.test.ts runs too are in cluster-scenarios.ts). Figures are printed as TAP
// comments.
//
// In order, sharing one cluster:
//  1. through nginx, WebSocket and long polling: 24 clients each, spread over the three gateways,
//     get every sample of their rooms exactly once (counted against the history in Redis);
//  2. a client that behaves like the earlier system's dashboard works unchanged through nginx;
//  3. /readyz turns red when pub/sub silently stops delivering, green when delivery returns;
//  4. SIGTERM drains a gateway: not ready at once (503, then the listener closes), its clients come back through nginx to the
//     others (seed-style ones get their rooms back from their session), the gateway exits 0;
//  5. kill -9 of a gateway under load: its clients receive again on the last one;
//  6. Redis stops for 5 s and starts again: time until every client receives again.
import t from 'tap';
import type { ProcessInfoEvent } from '@vigil/protocol';
import { comparePositions, probeChannel } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { PROBE_TIMEOUT_MS, getJson, setUpCluster, sleep } from './cluster-harness.js';
import { RECOVERY_SCENARIOS, TRANSPORT_ROOMS, addDashboardClients, addTransportClients } from './cluster-scenarios.js';

t.test('the local cluster: three gateways behind nginx, two collectors', async (t) => {
  const run = await setUpCluster(t);
  if (!run) return;
  const { gate, gw, lb, redis } = run;

  // -------------------------------------------------------------------------------------------
  await t.test('through nginx, WebSocket and long polling: every sample of every room exactly once', async (t) => {
    const rooms = TRANSPORT_ROOMS;
    const sets = await addTransportClients(t, run);

    // The window: from the newest sample in Redis now, for 6 s.
    const all = [...sets.ws, ...sets.polling];
    await waitFor(() => all.every((p) => p.rooms.every((r) => (p.positions.get(r)?.length ?? 0) > 0)), { timeoutMs: 10_000, message: 'every client receiving every room' });
    const from = new Map<string, string>();
    for (const r of rooms) {
      const { body } = await getJson<{ items: ProcessInfoEvent[] }>(`${lb}/api/servers/${r}/metrics?limit=1`);
      from.set(r, body.items.at(-1)!.position);
    }
    await sleep(6000); // the measurement window
    const history = new Map<string, string[]>();
    for (const r of rooms) {
      const { status, body } = await getJson<{ items: ProcessInfoEvent[]; next: string | null }>(`${lb}/api/servers/${r}/metrics?after=${from.get(r)}&limit=1000`);
      t.equal(status, 200, `history of ${r}`);
      history.set(r, body.items.map((e) => e.position));
    }
    // Everything Redis holds up to now must have reached every client in the room.
    const last = (r: string) => history.get(r)!.at(-1);
    await waitFor(() => all.every((p) => p.rooms.every((r) => !last(r) || p.positions.get(r)!.includes(last(r)!))), {
      timeoutMs: 5000,
      message: 'the last samples of the window to arrive',
    }).catch(() => undefined); // counted as lost below
    for (const kind of ['ws', 'polling'] as const) {
      let expected = 0;
      let received = 0;
      let lost = 0;
      let duplicated = 0;
      let unknown = 0;
      for (const p of sets[kind]) {
        for (const r of p.rooms) {
          const h = history.get(r)!;
          const upTo = h.at(-1);
          const inWindow = p.positions.get(r)!.filter((x) => comparePositions(x, from.get(r)!) > 0 && upTo !== undefined && comparePositions(x, upTo) <= 0);
          const seen = new Set(inWindow);
          expected += h.length;
          received += inWindow.length;
          lost += h.filter((x) => !seen.has(x)).length;
          duplicated += inWindow.length - seen.size;
          unknown += [...seen].filter((x) => !h.includes(x)).length;
        }
      }
      t.comment(`${kind}: ${sets[kind].length} clients × 3 rooms over 6 s: ${expected} samples in Redis for them, ${received} received: ${lost} lost, ${duplicated} duplicated`);
      t.ok(expected >= sets[kind].length * 3 * 10, `${kind}: the window holds enough samples (${expected})`);
      t.equal(lost, 0, `${kind}: 0 lost`);
      t.equal(duplicated, 0, `${kind}: 0 duplicated`);
      t.equal(unknown, 0, `${kind}: nothing that is not in the history`);
    }
    t.ok(sets.polling.every((p) => p.transport() === 'polling'), 'the polling clients stayed on long polling');
    t.ok(sets.ws.every((p) => p.transport() === 'websocket'), 'the WebSocket clients on WebSocket');
  });

  // -------------------------------------------------------------------------------------------
  // Kept for the later scenarios: seed-style and library clients, two of each per gateway, and
  // a load of WebSocket clients.
  await t.test("a client like the earlier system's dashboard works unchanged through nginx", (t) => addDashboardClients(t, run));

  // -------------------------------------------------------------------------------------------
  await t.test('/readyz is red while pub/sub silently delivers nothing, green when delivery returns', async (t) => {
    const g3 = gw['gw-3']!;
    t.equal((await getJson(`${g3.url}/readyz`)).status, 200, 'gw-3 ready');
    t.equal(gate.subscriberLinks(), 1, "the gate carries gw-3's subscriber connection");
    const closedBefore = gate.closedSubscriberLinks();
    const frozenAt = Date.now();
    gate.freeze();
    const red = await waitFor(
      async () => {
        const r = await getJson<{ reason?: string }>(`${g3.url}/readyz`);
        return r.status === 503 ? r : null;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: 'gw-3 /readyz 503' },
    );
    const redAfter = Date.now() - frozenAt;
    t.comment(`gw-3 /readyz 503 ${redAfter} ms after delivery silently stopped: "${red.body.reason}"`);
    t.ok(redAfter <= 2 * PROBE_TIMEOUT_MS + 500, `red within the probe timeout (${PROBE_TIMEOUT_MS} ms) of the first probe after the loss`);
    t.match(red.body.reason, /probe not received/, 'because the probe message did not come back');
    // The connection still looks up: nothing closed, Redis counts the subscription, commands work.
    const shard = await redis.command('PUBSUB', 'SHARDNUMSUB', probeChannel('gw-3'));
    t.match(shard, /:1\r\n$/, `Redis still counts gw-3's subscriber on its probe channel (${JSON.stringify(shard)})`);
    t.equal(gate.closedSubscriberLinks(), closedBefore, 'the subscriber connection was never closed');
    t.equal((await getJson(`${g3.url}/api/servers`)).status, 200, "gw-3's command connection still answers (REST 200)");
    t.equal((await getJson(`${g3.url}/healthz`)).status, 200, 'gw-3 is alive (/healthz 200)');
    t.equal((await getJson(`${gw['gw-1']!.url}/readyz`)).status, 200, 'the other gateways stay ready');
    await sleep(1000); // stays red while the loss lasts
    t.equal((await getJson(`${g3.url}/readyz`)).status, 503, 'still red a second later');
    const thawedAt = Date.now();
    gate.thaw();
    await waitFor(async () => (await getJson(`${g3.url}/readyz`)).status === 200, { timeoutMs: 10_000, intervalMs: 50, message: 'gw-3 /readyz 200 again' });
    t.comment(`gw-3 /readyz 200 again ${Date.now() - thawedAt} ms after delivery returned`);
  });

  // -------------------------------------------------------------------------------------------
  for (const [name, scenario] of RECOVERY_SCENARIOS) await t.test(name, (t) => scenario(t, run));
});
