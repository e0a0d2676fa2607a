// The machinery of the end-to-end cluster suites (cluster.test.ts, cluster-starved.test.ts): the
// local cluster of `npm start` (scripts/run-local.mjs: three gateways behind nginx, two
// collectors, the demo processes) on a private redis-server and free ports, sampling every
// 250 ms, driven through its --ready-file and stopped with SIGINT as Ctrl-C would; a gate that
// can silently stop one gateway's pub/sub delivery; and clients that record when they
// (re)connected and when samples arrived.
//
// nginx is sticky by client address (`hash $remote_addr consistent`, which long polling needs),
// so clients here come "from different machines": each binds its socket to its own loopback
// address (127.0.0.<k>), and the balancer's /healthz tells which gateway an address is sent to
// (scripts/lib/lb.mjs). Every client is made by openSocket(), the one place its options are set.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket as TcpSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { createVigilClient, type VigilClient } from '@vigil/client';
import type { ProcessInfoEvent } from '@vigil/protocol';
import { freePort, startRedis, waitFor, type RedisProcess } from '@vigil/testkit';
import { canBindLoopbackAliases, fromAddress, gatewayConnections, loopbackAddresses, stickyAddresses } from '../../scripts/lib/lb.mjs';
import { httpGet } from '../../scripts/lib/wait.mjs';
export { sleep } from '../../scripts/lib/wait.mjs';
import { ALL_ACCESS_TOKEN, bearer, socketAuth, spawnRunLocal } from './helpers.js';

export const INTERVAL_MS = 250;
/** The gateway's default readiness probe timeout (GatewaySettings.readinessTimeoutMs). */
export const PROBE_TIMEOUT_MS = 1000;

export type ClusterInfo = {
  pid: number;
  runDir: string;
  lb: { url: string; port: number; pid: number };
  gateways: Array<{ id: string; url: string; port: number; metricsUrl: string; pid: number }>;
  collectors: Array<{ id: string; selfId: string; pid: number }>;
  redisUrl: string;
  httpUrl: string | null;
  servers: Array<{ id: string; how: string; collector: string; logs: boolean }>;
};

export type IoOptions = Partial<ManagerOptions & SocketOptions>;
export type TestLike = { comment(...args: unknown[]): void };
/** Registers a cleanup step; steps run last-registered first. */
export type Defer = (fn: () => unknown) => void;

export const positionMs = (position: string) => Number(position.slice(0, position.indexOf('-')));
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};
/** Resolves with `value` after `ms`, without keeping the process alive for it. */
export const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms).unref());

export const getJson = <T>(url: string) => httpGet(url, 3000, bearer()) as Promise<{ status: number; body: T }>;

/** `vigil_gateway_connections` from a gateway's /metrics (on its own metrics port). */
export async function connectionsOf(metricsUrl: string): Promise<number> {
  const n = await gatewayConnections(metricsUrl);
  if (n === null) throw new Error(`${metricsUrl}: no vigil_gateway_connections`);
  return n;
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
export type RedisGate = {
  url: string;
  subscriberLinks(): number;
  closedSubscriberLinks(): number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
};

export async function startRedisGate(redisPort: number): Promise<RedisGate> {
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

export type Cluster = { info: ClusterInfo; output(): string; child: ChildProcess };

export async function startCluster(t: TestLike, defer: Defer, redisUrl: string, gatewayRedis: Record<string, string>): Promise<Cluster> {
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
  let info: ClusterInfo | null = null;
  defer(async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      const stopping = Date.now();
      child.kill('SIGINT');
      let code = await Promise.race([exited, after(60_000, 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGINT'); // a second one: the run kills everything at once
        code = await Promise.race([exited, after(5000, 'timeout' as const)]);
      }
      if (code === 'timeout') {
        // A run that cannot stop its processes: end them here, by the pids its ready file gave.
        const pids = info ? [info.lb.pid, ...info.gateways.map((g) => g.pid), ...info.collectors.map((c) => c.pid)] : [];
        for (const pid of [child.pid!, ...pids]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        t.comment(`run-local did not stop within 65 s: killed it and pids ${pids.join(', ')}`);
      }
      t.comment(`run-local stopped in ${Date.now() - stopping} ms: ${/all stopped[^\n]*/.exec(output())?.[0] ?? output().slice(-400)}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    // A run that exited ends the wait at once (a throw here would only be retried until the deadline).
    () => child.exitCode !== null || child.signalCode !== null || existsSync(readyFile),
    { timeoutMs: 90_000, intervalMs: 100, message: 'the cluster to be up (its ready file)' },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${output().slice(-3000)}`);
  });
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`run-local exited (${child.exitCode ?? child.signalCode}) before it was up:\n${output().slice(-3000)}`);
  info = JSON.parse(readFileSync(readyFile, 'utf8')) as ClusterInfo;
  t.comment(`run-local up in ${Date.now() - startedAt} ms`);
  return { info, output, child };
}

// ---------------------------------------------------------------------------------------------
// Clients. Each records when it (re)connected and when samples arrived.

export type Kind = 'ws' | 'polling' | 'seed' | 'library' | 'load';

export class Probe {
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
export function rawClient(lb: string, kind: Kind, address: string | undefined, rooms: string[], logsOf?: string): Probe {
  const probe = new Probe(kind, address, rooms);
  const transports = kind === 'polling' ? ['polling'] : kind === 'ws' || kind === 'load' ? ['websocket'] : ['websocket', 'polling'];
  const net = fromAddress(address);
  // The earlier dashboard: forceNew, reconnection on (socket.io-client's defaults), and it
  // subscribes once, on its first connect, never again.
  const socket: Socket = openSocket(`${lb}/monitoring`, { transports, forceNew: true, reconnection: true, ...net } as IoOptions);
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
export function libraryClient(lb: string, address: string | undefined, serverId: string, logsOf: string): Probe {
  const probe = new Probe('library', address, [serverId]);
  const net = fromAddress(address);
  const client: VigilClient = createVigilClient({
    token: ALL_ACCESS_TOKEN,
    url: lb,
    network: null,
    io: (uri, options) => {
      const socket = openSocket(uri, { ...options, ...net } as IoOptions);
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
export async function roomsRestored(t: { ok(v: unknown, m: string): void }, moved: Probe[]): Promise<void> {
  for (const p of moved.filter((x) => x.kind === 'seed')) {
    const held = await p.heldRooms();
    t.ok(
      held.includes('server-metrics-demo-cpu-wave') && held.some((r) => r.includes('demo-http')),
      `seed-style client from ${p.address}: its rooms restored on another gateway (${held.join(', ')})`,
    );
  }
}

/** Who is not back yet after `t0`, by kind, for a failure message. */
export function laggards(ps: Probe[], t0: number, back: (p: Probe) => boolean): string {
  const late = ps.filter((p) => !back(p));
  const byKind = new Map<string, number>();
  for (const p of late) {
    const state = p.connects.some((c) => c > t0) ? 'reconnected' : 'not reconnected';
    const key = `${p.kind} ${state}${p.samples.some(([at]) => at > t0) ? ', some samples' : ', no samples'}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  return `${late.length} of ${ps.length} not back: ${[...byKind].map(([k, n]) => `${n} ${k}`).join('; ')}`;
}

/** Every Socket.IO connection of these suites: options given here (e.g. `auth: { token }`) reach all of them. */
export function openSocket(uri: string, options: IoOptions): Socket {
  // A client's own auth fields (the library's pid, vigilRestore) travel beside the token.
  const own = options.auth;
  const auth = typeof own === 'function' ? (cb: (data: object) => void) => own((data) => cb({ ...socketAuth(), ...data })) : { ...socketAuth(), ...own };
  return connect(uri, { ...options, auth });
}

// ---------------------------------------------------------------------------------------------
// One cluster with its Redis, the gate in front of gw-3's Redis, the client addresses by
// gateway, and the clients made so far (closed at the end, like everything else here).

export type ClusterRun = {
  redis: RedisProcess;
  gate: RedisGate;
  cluster: Cluster;
  info: ClusterInfo;
  lb: string;
  gw: Record<string, ClusterInfo['gateways'][number]>;
  ids: string[];
  probes: Probe[];
  addressOn(id: string, i: number): string;
  sessionCount(): Promise<number>;
  pokeHttp(): Promise<void>;
  /** Registers a cleanup step (run last-registered first, after the test). */
  defer: Defer;
};

/** Starts it all and checks its shape; null (and a failed test) when clients cannot come from several addresses. */
export async function setUpCluster(t: Test): Promise<ClusterRun | null> {
  if (!(await canBindLoopbackAliases())) {
    t.fail('this host cannot bind 127.0.0.2: clients cannot come from several addresses, and nginx is sticky by address');
    return null;
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
  return { redis, gate, cluster, info, lb, gw, ids, probes, addressOn, sessionCount, pokeHttp, defer };
}
