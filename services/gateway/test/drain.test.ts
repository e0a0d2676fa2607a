// Draining: readiness goes false at once, new handshakes are refused, connected clients are let
// go in batches in a way that makes them reconnect, and they come back through the balancer to
// the other gateway.
import t from 'tap';
import { io as connect, type Socket } from 'socket.io-client';
import { ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, startStack } from './helpers.js';

t.test('drain sends every client to the other gateway, which they reach by themselves', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const { collector } = stack;
  const [a, b] = stack.pair();
  await collector.register('S');
  const lb = await stack.balancer();
  const clients: Socket[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));

  const N = 60;
  const reasons: string[] = [];
  const received = new Map<Socket, number>();
  for (let i = 0; i < N; i++) {
    const c = connect(`${lb.url}/monitoring`, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 300, auth: { token: ALL_ACCESS_TOKEN } });
    // Like the earlier dashboard: subscribe on every connect.
    c.on('connect', () => c.emit('subscribe-server-metrics', { serverId: 'S' }));
    c.on('disconnect', (reason) => reasons.push(reason));
    c.on(ServerEvents.processInfo, (_e: ProcessInfoEvent) => received.set(c, (received.get(c) ?? 0) + 1));
    clients.push(c);
  }
  await waitFor(() => clients.every((c) => c.connected), { message: 'all clients connected' });
  await waitFor(() => lb.connectionsTo(a.port) > 0 && lb.connectionsTo(b.port) > 0, { message: 'clients on both gateways' });
  const onA = a.app.io.of('/monitoring').sockets.size;
  t.ok(onA > 0, `${onA} clients start on gateway A`);

  const draining = a.app.drain({ maxMs: 5000, intervalMs: 50, minBatch: 5 });
  t.equal((await a.inject('/readyz')).statusCode, 503, 'readiness is false as soon as the drain starts');
  t.equal((await a.inject('/readyz')).json().error.code, 'VIGIL_ERR_SHUTTING_DOWN');
  const result = await draining;
  t.match(result, { clients: onA, remaining: 0 }, 'every client of A was let go within the window');
  t.ok(result.disconnected >= onA);

  await waitFor(() => clients.every((c) => c.connected) && lb.connectionsTo(a.port) === 0, { timeoutMs: 15_000, message: 'all clients back, on B' });
  t.equal(b.app.io.of('/monitoring').sockets.size, N, 'all clients are on B now');
  t.ok(reasons.length >= onA && reasons.every((r) => r === 'transport close'), 'clients saw "transport close", the reason that makes them reconnect');
  received.clear();
  await collector.sample('S', 1);
  await waitFor(() => received.size === N, { message: 'every client to receive again' });
  t.pass('every client receives again after the drain');
});
