// A connection that stays open but carries nothing (no event, no engine.io ping) is found by the
// client's stall watchdog and made again, well before engine.io's own ping timeout. The gateway
// here is a real socket.io server behind a TCP relay that can stop forwarding what the server
// sends on the connections open now, while keeping them open: what a long poll held by a proxy
// for a gateway that is gone, or a half-open connection, looks like to the client.
import t from 'tap';
import { createConnection, createServer, type Socket as TcpSocket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@vigil/testkit';
import type { Teardown } from './fixtures/cluster.js';
import { startClient, stateNames } from './fixtures/cluster.js';
import { startFakeGateway, type FakeGateway } from './fixtures/fake-gateway.js';

const PING_INTERVAL_MS = 300;
/** engine.io's own timeout is interval + this: far beyond what the test waits. */
const PING_TIMEOUT_MS = 20_000;

type Relay = { url: string; connections(): number; silenceOpenConnections(): void };

/** Forwards TCP to `port`; silenceOpenConnections() stops the server→client bytes of the connections open now. */
async function startRelay(t: Teardown, port: number): Promise<Relay> {
  const links = new Set<{ client: TcpSocket; upstream: TcpSocket }>();
  let opened = 0;
  const server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = createConnection({ port, host: '127.0.0.1' });
    const link = { client, upstream };
    links.add(link);
    opened++;
    const close = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('error', close).on('close', close);
    upstream.once('connect', () => client.resume());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const l of links) l.client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => opened,
    silenceOpenConnections() {
      for (const l of links) {
        l.upstream.removeAllListeners('data');
        l.upstream.pause(); // still open: nothing is closed, nothing arrives
      }
    },
  };
}

/** Per connection, in the order they were made: pongs the gateway got back (pings the client heard). */
type Heartbeats = Array<{ pongs: number }>;

async function startGateway(t: Teardown) {
  const heartbeats: Heartbeats = [];
  const gw = await startFakeGateway(
    t,
    (nsp) =>
      nsp.on('connection', (socket) => {
        const count = { pongs: 0 };
        heartbeats.push(count);
        socket.conn.on('heartbeat', () => void count.pongs++);
      }),
    { pingInterval: PING_INTERVAL_MS, pingTimeout: PING_TIMEOUT_MS },
  );
  return Object.assign(gw, { heartbeats });
}

/** A client of `gw` through a relay of its own, connected. */
async function connectThroughRelay(t: Teardown, gw: FakeGateway, silentIntervals?: number | null) {
  const relay = await startRelay(t, gw.port);
  const { client, states } = startClient(relay.url, silentIntervals === undefined ? {} : { silentIntervals });
  t.teardown(() => client.close());
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  return { relay, client, states };
}

async function setup(t: Teardown, silentIntervals?: number | null) {
  const gw = await startGateway(t);
  return { gw, heartbeats: gw.heartbeats, ...(await connectThroughRelay(t, gw, silentIntervals)) };
}

t.test('a connection that carries nothing is closed and made again by the client', async (t) => {
  const { gw, relay, client, states, heartbeats } = await setup(t);
  await waitFor(() => heartbeats[0]!.pongs >= 4, { message: 'four pings heard' });
  t.same(stateNames(states), ['connected'], 'a quiet connection with pings arriving is not a stalled one');

  const silencedAt = Date.now();
  relay.silenceOpenConnections();
  await waitFor(() => relay.connections() === 2 && client.state.name === 'connected', { timeoutMs: 5000, message: 'a new connection' });
  const after = Date.now() - silencedAt;
  t.comment(`connected again ${after} ms after the connection went silent (ping interval ${PING_INTERVAL_MS} ms; engine.io's own timeout ${PING_INTERVAL_MS + PING_TIMEOUT_MS} ms)`);
  t.ok(after < PING_INTERVAL_MS + PING_TIMEOUT_MS, 'before engine.io would have noticed');
  t.same(stateNames(states), ['connected', 'reconnecting', 'connected'], 'state: connected → reconnecting → connected');
  t.match(states.find((s) => s.name === 'reconnecting'), { reason: /nothing received for \d+ ms/ }, 'the reason says the connection went silent');
  await waitFor(() => heartbeats.at(-1)!.pongs >= 4, { message: 'four pings heard on the new connection' });
  t.ok(gw.sockets().length >= 1, 'the gateway holds the new connection');
  t.equal(relay.connections(), 2, 'the new connection, which carries pings, is kept');
});

t.test('silentIntervals: null turns the watchdog off (engine.io alone decides, after its ping timeout)', async (t) => {
  const { gw, relay, client, states } = await setup(t, null);
  // The witness: a client with the default watchdog, silenced at the same moment over a relay of its own.
  const witness = await connectThroughRelay(t, gw);
  relay.silenceOpenConnections();
  witness.relay.silenceOpenConnections();
  // Past the watchdog's limit (the witness reconnected), then four more intervals, short of engine.io's timeout.
  await waitFor(() => witness.relay.connections() === 2 && witness.client.state.name === 'connected', { message: 'the witness reconnected' });
  await waitFor(() => gw.heartbeats.at(-1)!.pongs >= 4, { message: "four pings heard on the witness's new connection" });
  t.equal(client.state.name, 'connected', 'still "connected" over a silent connection');
  t.same(stateNames(states), ['connected'], 'no reconnect');
  t.equal(relay.connections(), 1, 'no new connection');
});
