// The local cluster of `npm start`, end to end: `node scripts/run-local.mjs` itself (three
// gateways, nginx in front of them, two collectors, the demo processes) against a private
// redis-server, on free ports, sampling every 250 ms. The suite drives it through its
// --ready-file (what runs where) and stops it with SIGINT, as Ctrl-C would.
//
// nginx is sticky by client address (`hash $remote_addr consistent`, which long polling needs),
// so clients here come "from different machines": each binds its socket to its own loopback
// address (127.0.0.<k>), and the balancer's /healthz tells which gateway an address is sent to
// (scripts/lib/lb.mjs). Figures are printed as TAP comments.
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
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket as TcpSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { createVigilClient, type VigilClient } from '@vigil/client';
import { comparePositions, probeChannel, type ProcessInfoEvent } from '@vigil/protocol';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { canBindLoopbackAliases, fromAddress, loopbackAddresses, stickyAddresses } from '../../scripts/lib/lb.mjs';
import { httpGet } from '../../scripts/lib/wait.mjs';
import { spawnRunLocal } from './helpers.js';

const INTERVAL_MS = 250;
/** The gateway's default readiness probe timeout (GatewaySettings.readinessTimeoutMs). */
const PROBE_TIMEOUT_MS = 1000;

type ClusterInfo = {
  pid: number;
  runDir: string;
  lb: { url: string; port: number; pid: number };
  gateways: Array<{ id: string; url: string; port: number; metricsUrl: string; pid: number }>;
  collectors: Array<{ id: string; selfId: string; pid: number }>;
  redisUrl: string;
  httpUrl: string | null;
  servers: Array<{ id: string; how: string; collector: string; logs: boolean }>;
};

type IoOptions = Partial<ManagerOptions & SocketOptions>;
type TestLike = { comment(...args: unknown[]): void };
/** Registers a cleanup step; steps run last-registered first. */
type Defer = (fn: () => unknown) => void;

const positionMs = (position: string) => Number(position.slice(0, position.indexOf('-')));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves with `value` after `ms`, without keeping the process alive for it. */
const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms).unref());

const getJson = <T>(url: string) => httpGet(url, 3000) as Promise<{ status: number; body: T }>;

/** `vigil_gateway_connections` from a gateway's /metrics (on its own metrics port). */
async function connectionsOf(metricsUrl: string): Promise<number> {
  const { status, body } = await getJson<string>(metricsUrl);
  const m = status === 200 ? /^vigil_gateway_connections(?:\{[^}]*\})? (\d+)$/m.exec(String(body)) : null;
  if (!m) throw new Error(`${metricsUrl}: no vigil_gateway_connections (${status})`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// A gate between one gateway and Redis that can silently stop pub/sub delivery.
//
// What "connection up, delivery silently lost" really is: the subscriber's TCP connection stays
// established and healthy-looking to ioredis (status `ready`, no error, no close), Redis still
// counts the subscription (PUBSUB SHARDNUMSUB), commands and publishes on the gateway's other
// connections keep working, but the messages Redis sends to the subscriber never arrive. The
// gate produces exactly that: it recognises the gateway's subscriber connection by the name
// ioredis gives it (CLIENT SETNAME vigil-gw:<id>:subscriber) and stops forwarding the bytes Redis
// sends on it, without closing anything; thawing forwards what was held, in order.
// The alternatives do something else: CLIENT KILL TYPE pubsub closes the connection (ioredis
// notices and reconnects: not silent); CLIENT PAUSE and SIGSTOP of redis-server freeze every
// client and command of every gateway and collector, not one gateway's delivery.
type RedisGate = {
  url: string;
  subscriberLinks(): number;
  closedSubscriberLinks(): number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
};

async function startRedisGate(redisPort: number): Promise<RedisGate> {
  type Link = { client: TcpSocket; upstream: TcpSocket; head: string; subscriber: boolean };
  const links = new Set<Link>();
  let frozen = false;
  let closedSubscribers = 0;
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = tcpConnect({ port: redisPort, host: '127.0.0.1' });
    const link: Link = { client, upstream, head: '', subscriber: false };
    links.add(link);
    const close = () => {
      if (links.delete(link) && link.subscriber) closedSubscribers++;
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
    upstream.once('connect', () => client.resume());
    client.on('data', (chunk: Buffer) => {
      if (!link.subscriber && link.head.length < 8192) {
        link.head += chunk.toString('latin1');
        if (link.head.includes(':subscriber')) {
          link.subscriber = true;
          if (frozen) upstream.pause();
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    subscriberLinks: () => [...links].filter((l) => l.subscriber).length,
    closedSubscriberLinks: () => closedSubscribers,
    freeze() {
      frozen = true;
      for (const l of links) if (l.subscriber) l.upstream.pause();
    },
    thaw() {
      frozen = false;
      for (const l of links) if (l.subscriber) l.upstream.resume();
    },
    async close() {
      for (const l of links) {
        l.client.destroy();
        l.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The cluster: scripts/run-local.mjs, driven through its ready file, stopped with SIGINT.

type Cluster = { info: ClusterInfo; output(): string; child: ChildProcess };

async function startCluster(t: TestLike, defer: Defer, redisUrl: string, gatewayRedis: Record<string, string>): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-test-'));
  const readyFile = join(dir, 'ready.json');
  const port = await freePort();
  const startedAt = Date.now();
  const args = ['--port', String(port), '--interval', String(INTERVAL_MS), '--ready-file', readyFile];
  for (const [id, url] of Object.entries(gatewayRedis)) args.push('--gateway-redis-url', `${id}=${url}`);
  const { child, output, exited } = spawnRunLocal(args, { VIGIL_REDIS_URL: redisUrl, VIGIL_LOG_LEVEL: 'info' });
  // If this test process dies first, the run still stops (it also watches its parent).
  const onExit = () => child.kill('SIGINT');
  process.once('exit', onExit);
  defer(async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      const stopping = Date.now();
      child.kill('SIGINT');
      const code = await Promise.race([exited, after(60_000, 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGINT'); // a second one: the run kills everything at once
        await Promise.race([exited, after(5000, null)]);
      }
      t.comment(`run-local stopped in ${Date.now() - stopping} ms: ${/all stopped[^\n]*/.exec(output())?.[0] ?? output().slice(-400)}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`run-local exited (${child.exitCode}):\n${output().slice(-3000)}`);
      return existsSync(readyFile);
    },
    { timeoutMs: 90_000, intervalMs: 100, message: 'the cluster to be up (its ready file)' },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${output().slice(-3000)}`);
  });
  const info = JSON.parse(readFileSync(readyFile, 'utf8')) as ClusterInfo;
  t.comment(`run-local up in ${Date.now() - startedAt} ms`);
  return { info, output, child };
}

// ---------------------------------------------------------------------------------------------
// Clients. Each records when it (re)connected and when samples arrived.

type Kind = 'ws' | 'polling' | 'seed' | 'library' | 'load';

class Probe {
  readonly connects: number[] = [];
  readonly disconnects: number[] = [];
  /** [received at, position ms] per sample. */
  readonly samples: Array<[number, number]> = [];
  readonly logs: number[] = [];
  /** Positions received per server (raw clients: duplicates are kept). */
  readonly positions = new Map<string, string[]>();
  confirmed = 0;
  close: () => void = () => {};
  transport: () => string | undefined = () => undefined;
  /** The rooms the gateway says this client holds (get-connection-status); raw clients only. */
  heldRooms: () => Promise<string[]> = async () => [];
  constructor(
    readonly kind: Kind,
    readonly address: string | undefined,
    readonly rooms: string[],
  ) {}

  sample(e: ProcessInfoEvent): void {
    this.samples.push([Date.now(), positionMs(e.position)]);
    let list = this.positions.get(e.serverId);
    if (!list) this.positions.set(e.serverId, (list = []));
    list.push(e.position);
  }

  /** Received at least one sample written after `ms`, at or after `from` (receipt time). */
  sampleAfter(ms: number, from = 0): number | null {
    for (const [at, pos] of this.samples) if (at >= from && pos > ms) return at;
    return null;
  }

  /** Time it received again after an event at `t0`: the first sample written after t0 that arrived after its next connect. */
  backAt(t0: number): number | null {
    const reconnect = this.connects.find((c) => c > t0);
    if (reconnect === undefined) return null;
    return this.sampleAfter(t0, reconnect);
  }
}

/** A socket.io-client through the balancer, from `address`. `seed`: behaves like the earlier dashboard. */
function rawClient(lb: string, kind: Kind, address: string | undefined, rooms: string[], logsOf?: string): Probe {
  const probe = new Probe(kind, address, rooms);
  const transports = kind === 'polling' ? ['polling'] : kind === 'ws' || kind === 'load' ? ['websocket'] : ['websocket', 'polling'];
  const net = fromAddress(address);
  // The earlier dashboard: forceNew, reconnection on (socket.io-client's defaults), and it
  // subscribes once, on its first connect, never again.
  const socket: Socket = connect(`${lb}/monitoring`, { transports, forceNew: true, reconnection: true, ...net } as IoOptions);
  socket.once('connect', () => {
    for (const serverId of rooms) socket.emit('subscribe-server-metrics', { serverId });
    if (logsOf) socket.emit('subscribe-server-logs', { serverId: logsOf });
  });
  socket.on('connect', () => probe.connects.push(Date.now()));
  socket.on('disconnect', () => probe.disconnects.push(Date.now()));
  socket.on('subscription-confirmed', () => probe.confirmed++);
  socket.on('process:info', (e: ProcessInfoEvent) => probe.sample(e));
  socket.on('process:logs', () => probe.logs.push(Date.now()));
  probe.close = () => {
    socket.close();
    net.agent?.destroy();
  };
  probe.transport = () => socket.io.engine?.transport?.name;
  probe.heldRooms = async () => ((await socket.timeout(5000).emitWithAck('get-connection-status')) as { subscribedRooms?: string[] }).subscribedRooms ?? [];
  return probe;
}

/** A libs/client client through the balancer, from `address`. */
function libraryClient(lb: string, address: string | undefined, serverId: string, logsOf: string): Probe {
  const probe = new Probe('library', address, [serverId]);
  const net = fromAddress(address);
  const client: VigilClient = createVigilClient({
    url: lb,
    network: null,
    io: (uri, options) => {
      const socket = connect(uri, { ...options, ...net } as IoOptions);
      socket.on('connect', () => probe.connects.push(Date.now()));
      socket.on('disconnect', () => probe.disconnects.push(Date.now()));
      return socket;
    },
  });
  void client.subscribeMetrics(serverId, { onSample: (e) => probe.sample(e) }).then(() => probe.confirmed++);
  void client.subscribeLogs(logsOf, { onLine: () => probe.logs.push(Date.now()) }).then(() => probe.confirmed++);
  probe.close = () => {
    client.close();
    net.agent?.destroy();
  };
  return probe;
}

/**
 * Seed-style clients never send a subscription again (they subscribe once, on their first
 * connect), yet the gateway they reached holds their rooms: restored from their session in Redis.
 */
async function roomsRestored(t: { ok(v: unknown, m: string): void }, moved: Probe[]): Promise<void> {
  for (const p of moved.filter((x) => x.kind === 'seed')) {
    const held = await p.heldRooms();
    t.ok(
      held.includes('server-metrics-demo-cpu-wave') && held.some((r) => r.includes('demo-http')),
      `seed-style client from ${p.address}: its rooms restored on another gateway (${held.join(', ')})`,
    );
  }
}

/** Who is not back yet after `t0`, by kind, for a failure message. */
function laggards(ps: Probe[], t0: number, back: (p: Probe) => boolean): string {
  const late = ps.filter((p) => !back(p));
  const byKind = new Map<string, number>();
  for (const p of late) {
    const state = p.connects.some((c) => c > t0) ? 'reconnected' : 'not reconnected';
    const key = `${p.kind} ${state}${p.samples.some(([at]) => at > t0) ? ', some samples' : ', no samples'}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  return `${late.length} of ${ps.length} not back: ${[...byKind].map(([k, n]) => `${n} ${k}`).join('; ')}`;
}

// ---------------------------------------------------------------------------------------------

t.test('the local cluster: three gateways behind nginx, two collectors', async (t) => {
  if (!(await canBindLoopbackAliases())) {
    t.fail('this host cannot bind 127.0.0.2: clients cannot come from several addresses, and nginx is sticky by address');
    return;
  }
  // Stopped in reverse order: clients, the cluster, the gate, Redis.
  const cleanup: Array<() => unknown> = [];
  const defer: Defer = (fn) => cleanup.push(fn);
  t.teardown(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });
  const redis = await startRedis();
  defer(() => redis.close());
  const gate = await startRedisGate(redis.port);
  defer(() => gate.close());
  // gw-3 reaches Redis through the gate; it forwards everything until scenario 3 freezes it.
  const cluster = await startCluster(t, defer, redis.url, { 'gw-3': gate.url });
  const { info } = cluster;
  const lb = info.lb.url;
  const gw = Object.fromEntries(info.gateways.map((g) => [g.id, g]));
  t.comment(`cluster up: nginx ${lb} (pid ${info.lb.pid}) → ${info.gateways.map((g) => `${g.id} :${g.port}`).join(', ')}; collectors ${info.collectors.map((c) => c.id).join(', ')}; ${info.servers.length} servers`);
  t.same(info.gateways.map((g) => g.id), ['gw-1', 'gw-2', 'gw-3'], 'three gateways');
  t.equal(info.collectors.length, 2, 'two collectors');
  t.ok(info.servers.some((s) => s.collector === 'local-1' && s.id.startsWith('demo-')) && info.servers.some((s) => s.collector === 'local-2' && s.id.startsWith('demo-')), 'the demo targets are split between the collectors');
  const ids = info.gateways.map((g) => g.id);

  const probes: Probe[] = [];
  defer(() => probes.forEach((p) => p.close()));
  // Client addresses by the gateway nginx sends them to.
  const sticky = await stickyAddresses(lb, { wanted: ids, perGateway: 40, candidates: loopbackAddresses(600) });
  // 20 distinct ones per gateway at least: the exactly-once, seed-style and library clients each
  // have their own; the load clients share them.
  for (const id of ids) t.ok(sticky.get(id)!.length >= 20, `${sticky.get(id)!.length} client addresses that nginx sends to ${id}`);
  const addressOn = (id: string, i: number) => sticky.get(id)![i % sticky.get(id)!.length]!;
  // Client sessions in Redis (what lets a client that does not re-subscribe get its rooms back).
  const sessionCount = async () => Number(/^:(\d+)/.exec(await redis.command('EVAL', "return #redis.call('KEYS', ARGV[1])", '0', 'vigil:session:*'))?.[1]);
  const pokeHttp = async () => {
    if (info.httpUrl) await fetch(`${info.httpUrl}/ping`).catch(() => undefined);
  };

  // -------------------------------------------------------------------------------------------
  await t.test('through nginx, WebSocket and long polling: every sample of every room exactly once', async (t) => {
    const rooms = ['demo-cpu-wave', 'demo-mem-sawtooth', 'demo-http', 'demo-flaky', 'vigil-collector-1', 'vigil-collector-2'];
    const PER_GATEWAY = 8;
    const sets: Record<'ws' | 'polling', Probe[]> = { ws: [], polling: [] };
    const before = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
    for (const kind of ['ws', 'polling'] as const) {
      const at = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
      ids.forEach((id, g) => {
        for (let i = 0; i < PER_GATEWAY; i++) {
          const n = g * PER_GATEWAY + i;
          const mine = [rooms[n % rooms.length]!, rooms[(n + 1) % rooms.length]!, rooms[(n + 2) % rooms.length]!];
          // Addresses 0..15 of each gateway: one per client, none shared between the two sets.
          sets[kind].push(rawClient(lb, kind, addressOn(id, (kind === 'ws' ? 0 : PER_GATEWAY) + i), mine));
        }
      });
      probes.push(...sets[kind]);
      await waitFor(() => sets[kind].every((p) => p.confirmed === p.rooms.length), { timeoutMs: 20_000, message: `${kind} clients subscribed` });
      const now = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
      const spread = ids.map((id, g) => `${id}: ${now[g]! - at[g]!}`).join(', ');
      t.comment(`${kind}: ${sets[kind].length} clients through nginx, on ${spread} (vigil_gateway_connections)`);
      t.same(ids.map((_, g) => now[g]! - at[g]!), ids.map(() => PER_GATEWAY), `${kind}: ${PER_GATEWAY} clients on each gateway`);
    }
    t.same(before, ids.map(() => 0), 'no other clients on the gateways');

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
  const seeds: Probe[] = [];
  const library: Probe[] = [];
  await t.test("a client like the earlier system's dashboard works unchanged through nginx", async (t) => {
    for (const id of ids) {
      for (let i = 0; i < 2; i++) seeds.push(rawClient(lb, 'seed', addressOn(id, 16 + i), ['demo-cpu-wave'], 'demo-http'));
      for (let i = 0; i < 2; i++) library.push(libraryClient(lb, addressOn(id, 18 + i), 'demo-mem-sawtooth', 'demo-http'));
    }
    probes.push(...seeds, ...library);
    const started = Date.now();
    await waitFor(
      async () => {
        await pokeHttp();
        return [...seeds, ...library].every((p) => p.confirmed === 2 && p.sampleAfter(started) !== null && p.logs.length > 0);
      },
      { timeoutMs: 15_000, intervalMs: 250, message: 'seed-style and library clients confirmed, receiving samples and log lines' },
    );
    t.comment(`${seeds.length} seed-style clients (transports websocket+polling, forceNew, reconnection on, subscribe once) and ${library.length} libs/client clients: confirmed, samples and log lines within ${Date.now() - started} ms`);
    t.pass('seed-style clients: subscription-confirmed ×2, process:info and process:logs through nginx');
    const load: Probe[] = [];
    ids.forEach((id) => {
      for (let i = 0; i < 50; i++) load.push(rawClient(lb, 'load', addressOn(id, 20 + i), ['demo-cpu-wave', 'vigil-collector-1']));
    });
    probes.push(...load);
    await waitFor(() => load.every((p) => p.confirmed === 2 && p.samples.length > 0), { timeoutMs: 20_000, message: 'the load clients receiving' });
    const counts = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
    t.comment(`with ${load.length} more WebSocket clients: ${ids.map((id, g) => `${id} ${counts[g]}`).join(', ')} connections`);
  });

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
  await t.test('SIGTERM drains a gateway: readiness red at once, its clients come back through nginx', async (t) => {
    const victim = gw['gw-1']!;
    const seedLike = probes.filter((p) => p.kind !== 'library').length;
    await waitFor(async () => (await sessionCount()) >= seedLike, { message: `the sessions of the ${seedLike} clients that do not re-subscribe in Redis` });
    const on = await connectionsOf(victim.metricsUrl);
    const termAt = Date.now();
    process.kill(victim.pid, 'SIGTERM');
    // Readiness must not be green again: the first answer after the signal is 503, or the
    // connection is refused (a draining gateway stops listening so balancers fail over at once).
    let first: number | string = 0;
    while (first === 0 && Date.now() - termAt < 5000) {
      first = await getJson(`${victim.url}/readyz`).then(
        (r) => (r.status === 200 ? 0 : r.status),
        (err: Error & { cause?: { code?: string } }) => `not answering (${err.cause?.code ?? err.message})`,
      );
    }
    const redAfter = Date.now() - termAt;
    t.ok(first === 503 || String(first).startsWith('not answering'), `${victim.id} not ready ${redAfter} ms after SIGTERM (${first})`);
    const exit = await waitFor(() => /gateway-gw-1 \(pid \d+\) exited with code (\d+)/.exec(cluster.output()), { timeoutMs: 30_000, intervalMs: 50, message: 'gw-1 to exit' });
    const exitAfter = Date.now() - termAt;
    t.equal(exit[1], '0', `${victim.id} exited 0, ${exitAfter} ms after SIGTERM`);
    t.ok(exitAfter < 15_000, 'within its grace period');
    const affected = probes.filter((p) => p.disconnects.some((d) => d >= termAt));
    const byKind = (k: Kind) => affected.filter((p) => p.kind === k).length;
    t.ok(affected.length >= on - 1, `${affected.length} clients were let go (${victim.id} held ${on})`);
    t.ok(byKind('seed') > 0 && byKind('library') > 0, `among them ${byKind('seed')} seed-style and ${byKind('library')} libs/client clients`);
    const isBack = (p: Probe) =>
      p.backAt(termAt) !== null && (p.kind !== 'seed' && p.kind !== 'library' ? true : p.logs.some((l) => l > (p.connects.find((c) => c > termAt) ?? Infinity)));
    await waitFor(
      async () => {
        await pokeHttp();
        return affected.every(isBack);
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'every drained client receiving again (seed-style and library ones: log lines too)' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${laggards(affected, termAt, isBack)}`);
    });
    const back = affected.map((p) => p.backAt(termAt)! - termAt);
    await roomsRestored(t, affected);
    const counts = await Promise.all(['gw-2', 'gw-3'].map((id) => connectionsOf(gw[id]!.metricsUrl)));
    t.comment(
      `drain of ${victim.id}: not ready after ${redAfter} ms; ${affected.length} clients (${['ws', 'polling', 'seed', 'library', 'load'].map((k) => `${byKind(k as Kind)} ${k}`).join(', ')}) ` +
        `receiving again through nginx ${Math.max(...back)} ms after SIGTERM (median ${median(back)} ms); exit 0 after ${exitAfter} ms; now gw-2 ${counts[0]}, gw-3 ${counts[1]} connections`,
    );
  });

  // -------------------------------------------------------------------------------------------
  await t.test('kill -9 of a gateway under load: its clients receive again on the other', async (t) => {
    const victim = gw['gw-2']!;
    const on = await connectionsOf(victim.metricsUrl);
    const survivorBefore = await connectionsOf(gw['gw-3']!.metricsUrl);
    const killedAt = Date.now();
    const rate = probes.reduce((n, p) => n + p.samples.filter(([at]) => at >= killedAt - 1000).length, 0);
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => /gateway-gw-2 \(pid \d+\) was killed by SIGKILL/.test(cluster.output()), { timeoutMs: 10_000, intervalMs: 50, message: 'run-local to notice' });
    const lostIt = () => probes.filter((p) => p.disconnects.some((d) => d >= killedAt));
    await waitFor(() => lostIt().length >= on, { timeoutMs: 10_000, message: `the ${on} clients of ${victim.id} to notice` }).catch(() => undefined);
    const affected = lostIt();
    const isBack = (p: Probe) => p.backAt(killedAt) !== null;
    await waitFor(() => affected.every(isBack), { timeoutMs: 30_000, intervalMs: 50, message: 'every client of the killed gateway receiving again' }).catch((err: Error) => {
      throw new Error(`${err.message}: ${laggards(affected, killedAt, isBack)}`);
    });
    await roomsRestored(t, affected);
    const back = affected.map((p) => p.backAt(killedAt)! - killedAt);
    const worst = Math.max(...back);
    const survivor = await connectionsOf(gw['gw-3']!.metricsUrl);
    t.comment(`kill -9 of ${victim.id} holding ${on} clients (of ${on + survivorBefore}, receiving ${rate} samples/s in all): all ${affected.length} receiving again on gw-3 ${worst} ms after SIGKILL (median ${median(back)} ms); gw-3 now holds ${survivor}`);
    t.ok(affected.length >= on - 1, `${affected.length} clients were on ${victim.id}`);
    t.ok(worst < 30_000, `back within 30 s (target 5 s: ${worst <= 5000 ? 'met' : 'missed'})`);
    t.ok(probes.every((p) => p.sampleAfter(killedAt) !== null), 'every client is receiving');
    t.match(cluster.output(), /1 of 3 gateways still serve/, 'run-local keeps the rest running');
  });

  // -------------------------------------------------------------------------------------------
  await t.test('Redis stops for 5 s and starts again: every client receives again', async (t) => {
    const clients = probes;
    const sessionsBefore = await sessionCount();
    const stoppedAt = Date.now();
    await redis.stop();
    await sleep(5000); // the outage
    const startedAt = Date.now();
    await redis.start();
    const isBack = (p: Probe) => p.sampleAfter(startedAt) !== null;
    await waitFor(() => clients.every(isBack), { timeoutMs: 30_000, intervalMs: 100, message: 'every client receiving again after the restart' }).catch((err: Error) => {
      throw new Error(`${err.message}: ${laggards(clients, startedAt, isBack)}`);
    });
    const back = clients.map((p) => p.sampleAfter(startedAt)! - startedAt);
    t.comment(`Redis down ${startedAt - stoppedAt} ms; all ${clients.length} clients receiving again ${Math.max(...back)} ms after it started (median ${median(back)} ms)`);
    await waitFor(async () => (await getJson(`${gw['gw-3']!.url}/readyz`)).status === 200, { timeoutMs: 15_000, message: 'gw-3 ready again' });
    t.pass('gw-3 /readyz 200 again');
    // A Redis that comes back empty (no persistence, or a failover to an empty replica) has lost
    // every client session; a client that does not re-subscribe needs its session written again
    // before it next moves to another gateway.
    const seedLike = probes.filter((p) => p.kind !== 'library').length;
    const sessionsAfter = await waitFor(async () => ((await sessionCount()) >= seedLike ? sessionCount() : null), { timeoutMs: 3000, intervalMs: 200 }).catch(() => sessionCount());
    t.comment(`client sessions in Redis: ${sessionsBefore} before the restart, ${sessionsAfter} 3 s after it (${seedLike} clients rely on theirs)`);
    t.ok(sessionsAfter >= seedLike, 'the gateways write their clients\' sessions again after Redis comes back empty');
  });
});
