// A fan-out stack's processes: its own redis-server, G gateways (vigil's or bare Socket.IO ones), the
// publisher and the client processes, started in that order and stopped in the reverse one. The `ws`
// stack is vigil's (same publisher, same gateways) with its clients on the plain WebSocket `/ws`.
import { NAMESPACE, metricsRoom } from '@vigil/protocol';
import { adapterChannel, closeRedis, createRedis } from '@vigil/store';
import { startRedis, type RedisProcess } from '@vigil/testkit';
import { monoNow, spawnTs, type Child } from './lib/children.js';
import { benchServerId } from './lib/payload.js';
import type { FanoutOptions, Stack } from './fanout.js';
import type { Assignment } from './clients-proc.js';

export type StackProcs = {
  servers: Child[];
  publisher: Child;
  clients: Child[];
  redis: RedisProcess;
  redisPid: number | null;
};

export type StartedStack = { procs: StackProcs; connected: number; notes: string[] };

/** A child's start (tsx compiling the gateway) takes a second on a quiet machine, far longer on a busy one. */
const STARTUP_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every room's channel has a subscriber on each gateway that holds clients of that room. */
async function waitForSubscriptions(redisUrl: string, rooms: string[], perRoom: number, timeoutMs: number): Promise<boolean> {
  const client = createRedis(redisUrl, 'command');
  try {
    const deadline = monoNow() + timeoutMs;
    const channels = rooms.map((room) => adapterChannel(NAMESPACE, room));
    while (monoNow() < deadline) {
      const reply = (await client.call('PUBSUB', 'SHARDNUMSUB', ...channels)) as Array<string | number>;
      let ok = true;
      for (let i = 1; i < reply.length; i += 2) if (Number(reply[i]) < perRoom) ok = false;
      if (ok) return true;
      await sleep(100);
    }
    return false;
  } finally {
    await closeRedis(client);
  }
}

async function startProcesses(stack: Stack, o: FanoutOptions, log: (l: string) => void): Promise<StackProcs> {
  const redis = await startRedis();
  const procs: Partial<StackProcs> = { redis, servers: [], clients: [] };
  try {
    procs.redisPid = redis.pid;
    for (let g = 0; g < o.gateways; g++) {
      const server = await spawnTs(stack === 'baseline' ? 'baseline-server-proc.ts' : 'gateway-proc.ts');
      procs.servers!.push(server);
      await server.next('ready', STARTUP_TIMEOUT_MS);
      server.send({ type: 'start', redisUrl: redis.url, clients: o.clients });
    }
    const ports: number[] = [];
    for (const s of procs.servers!) ports.push(Number((await s.next<{ type: string; port: number }>('listening', STARTUP_TIMEOUT_MS)).port));
    procs.publisher = await spawnTs('publisher-proc.ts');
    await procs.publisher.next('ready', STARTUP_TIMEOUT_MS);
    procs.publisher.send({ type: 'start', kind: stack === 'baseline' ? 'baseline' : 'vigil', redisUrl: redis.url, servers: o.servers, collectors: o.collectors });
    await procs.publisher.next('started', STARTUP_TIMEOUT_MS);

    // Client i watches server i mod S through gateway ⌊i / S⌋ mod G: every room has clients on every gateway.
    const assignments = Array.from({ length: o.clientProcs }, () => [] as Assignment[]);
    const transport = stack === 'ws' ? 'ws' : 'socket.io';
    for (let i = 0; i < o.clients; i++) {
      const port = ports[Math.floor(i / o.servers) % o.gateways]!;
      assignments[i % o.clientProcs]!.push({ url: `http://127.0.0.1:${port}`, serverId: benchServerId(i % o.servers), transport });
    }
    log(`fanout[${stack}]: connecting ${o.clients} clients to ${o.gateways} gateways (ports ${ports.join(', ')})`);
    for (const list of assignments) {
      const c = await spawnTs('clients-proc.ts');
      procs.clients!.push(c);
      await c.next('ready', STARTUP_TIMEOUT_MS);
      c.send({ type: 'connect', clients: list });
    }
    return procs as StackProcs;
  } catch (err) {
    await stopStack(procs);
    throw err;
  }
}

export async function stopStack(p: Partial<StackProcs>): Promise<void> {
  for (const c of p.clients ?? []) await c.stop();
  await p.publisher?.stop();
  for (const s of p.servers ?? []) await s.stop(5000);
  await p.redis?.close();
}

/** Starts a stack and waits until every client is connected and subscribed. */
export async function startStack(stack: Stack, o: FanoutOptions, log: (l: string) => void): Promise<StartedStack> {
  const procs = await startProcesses(stack, o, log);
  const started: StartedStack = { procs, connected: 0, notes: [] };
  try {
    for (const c of procs.clients) {
      const r = await c.next<{ type: string; connected: number; failed: number; firstError: string | null }>('connected', 120_000);
      started.connected += r.connected;
      if (r.failed > 0) started.notes.push(`${r.failed} clients failed to connect: ${r.firstError}`);
    }
    const rooms = Array.from({ length: o.servers }, (_, i) => metricsRoom(benchServerId(i)));
    const perRoom = Math.min(o.gateways, Math.ceil(o.clients / o.servers));
    if (!(await waitForSubscriptions(procs.redis.url, rooms, perRoom, 15_000))) {
      started.notes.push('not every room had a subscriber on every gateway after 15 s');
    }
  } catch (err) {
    await stopStack(procs);
    throw err;
  }
  log(`fanout[${stack}]: ${started.connected} clients connected and subscribed`);
  return started;
}
