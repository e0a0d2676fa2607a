// kill -9 of the gateway the clients are on: clients that behave like the earlier dashboard
// (subscribe once, reconnection on) come back through the balancer to the other gateway, get
// their rooms back from their session in Redis, and receive again. The time it takes is
// reported; the target (5 s) is measured by bench/, not asserted here.
import t from 'tap';
import { io as connect, type Socket } from 'socket.io-client';
import { ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { startRedis, startTcpBalancer, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, registered, socketAuth, spawnService, spawnTarget, startGatewayProcess } from './helpers.js';

t.test('a gateway killed with SIGKILL: its clients receive again from the other one', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const target = spawnTarget(t, 'vigil-e2e-failover');
  const [a, b] = await Promise.all([startGatewayProcess(t, redis.url), startGatewayProcess(t, redis.url)]);
  const ports = [a, b].map((g) => Number(new URL(g.url).port));
  const lb = await startTcpBalancer(ports);
  t.teardown(() => lb.close());
  spawnService(t, COLLECTOR_ENTRY, ['--redis-url', redis.url, '--interval', '200', '--pid', `app=${target.pid}`], {});
  await registered(a.url, 'app');

  const N = 20;
  const clients: Socket[] = [];
  const lastSample = new Map<Socket, number>();
  for (let i = 0; i < N; i++) {
    const c = connect(`${lb.url}/monitoring`, {
      transports: ['websocket', 'polling'],
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      auth: socketAuth(),
    });
    c.once('connect', () => c.emit('subscribe-server-metrics', { serverId: 'app' }));
    c.on(ServerEvents.processInfo, (_e: ProcessInfoEvent) => lastSample.set(c, Date.now()));
    clients.push(c);
  }
  t.teardown(() => clients.forEach((c) => c.close()));
  await waitFor(() => lastSample.size === N, { timeoutMs: 20_000, message: 'every client receiving' });
  await waitFor(() => lb.connectionsTo(ports[0]!) > 0 && lb.connectionsTo(ports[1]!) > 0, { message: 'clients on both gateways' });
  const victim = lb.connectionsTo(ports[0]!) >= lb.connectionsTo(ports[1]!) ? a : b;
  const victimPort = Number(new URL(victim.url).port);
  const affected = lb.connectionsTo(victimPort);

  const killedAt = Date.now();
  await victim.stop('SIGKILL');
  await waitFor(() => clients.every((c) => (lastSample.get(c) ?? 0) > killedAt + 50), {
    timeoutMs: 30_000,
    message: 'every client receiving again',
  });
  const recovery = Math.max(...clients.map((c) => lastSample.get(c)!)) - killedAt;
  t.comment(`${affected} clients on the killed gateway; all ${N} receiving again ${recovery} ms after SIGKILL`);
  t.equal(lb.connectionsTo(victimPort), 0, 'no connection is left on the dead gateway');
  t.ok(clients.every((c) => c.connected), 'every client is connected');
});
