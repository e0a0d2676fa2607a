// Shared test fixtures: gateways on free ports, Socket.IO clients, and a stand-in collector that
// publishes samples exactly as the real one does (through BatchWriter, the real wire format).
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import {
  Keys,
  NAMESPACE,
  ServerEvents,
  metricsRoom,
  logsLevelRoom,
  type LogLevel,
  type ProcessInfoBody,
  type RegistryEntry,
} from '@vigil/protocol';
import { BatchWriter, broadcastFrame, closeRedis, createRedis, type RedisTls } from '@vigil/store';
import { startRedis, startTcpBalancer, waitFor } from '@vigil/testkit';
import { buildApp, type GatewayOptions } from '../src/app.js';
import { mintToken, secretKey, type TokenClaims } from '../src/auth/mint.js';
import { TEST_SECRET } from './auth-keys.js';

/** Every test gateway verifies real tokens, signed with this secret, unless a test says otherwise. */
export const TEST_AUTH = { mode: 'jwt', secret: TEST_SECRET } as const satisfies GatewayOptions['auth'];

/** A real token for TEST_AUTH: by default subject `test`, every server and its logs, one hour. */
export function testToken(claims: Partial<TokenClaims> = {}): Promise<string> {
  return mintToken(secretKey(TEST_SECRET), { sub: 'test', vigil: { servers: ['*'], logs: true }, ttlSeconds: 3600, ...claims });
}

/** What tests that are not about auth connect and call REST with: everything, for the whole run. */
export const ALL_ACCESS_TOKEN = await testToken({ sub: 'test-all', ttlSeconds: 6 * 3600 });

type Teardown = { teardown(fn: () => unknown): void };

/**
 * A private redis-server, gateways on it and a stand-in collector, each closed when the test ends
 * (registered as it starts, so a failed start still closes what came before; tap runs teardowns
 * last-registered first: clients, then collector, gateways, Redis).
 */
export async function startStack(t: Teardown, options: { gateways?: number; gateway?: Partial<GatewayOptions> } = {}) {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gws: RunningGateway[] = [];
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const gw = await startGateway(redis.url, options.gateway);
    t.teardown(() => gw.close());
    gws.push(gw);
  }
  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  return {
    redis,
    gws,
    gw: gws[0]!,
    collector,
    /** The first two gateways, for tests about moving between them. */
    pair(): [RunningGateway, RunningGateway] {
      if (gws.length < 2) throw new Error('startStack: pair() needs { gateways: 2 }');
      return [gws[0]!, gws[1]!];
    },
    /** A TCP balancer in front of every gateway, closed with the test. */
    async balancer() {
      const lb = await startTcpBalancer(gws.map((g) => g.port));
      t.teardown(() => lb.close());
      return lb;
    },
    /** A connected client of a gateway (the first by default), closed with the test. */
    async client(gw: RunningGateway = gws[0]!, options: Record<string, unknown> = {}) {
      const socket = await connectClient(gw.url, options);
      t.teardown(() => socket.close());
      return socket;
    },
  };
}

export type RunningGateway = {
  app: FastifyInstance;
  url: string;
  port: number;
  /** app.inject with ALL_ACCESS_TOKEN as the bearer (unless the request sets its own Authorization). */
  inject(request: string | InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
};

export async function startGateway(redisUrl: string, options: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const app = await buildApp({ redisUrl, staleSweepMs: 100, auth: TEST_AUTH, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const inject = (request: string | InjectOptions) => {
    const options = typeof request === 'string' ? { url: request } : request;
    return app.inject({ ...options, headers: { authorization: `Bearer ${ALL_ACCESS_TOKEN}`, ...options.headers } });
  };
  return { app, port, url: `http://127.0.0.1:${port}`, inject, close: () => app.close() };
}

export async function connectClient(url: string, options: Record<string, unknown> = {}): Promise<Socket> {
  const auth = { token: ALL_ACCESS_TOKEN, ...(options.auth as Record<string, unknown> | undefined) };
  const socket = connect(`${url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, ...options, auth });
  await waitFor(() => socket.connected, { message: 'client to connect' });
  return socket;
}

export function collect<T>(socket: Socket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (payload: T) => got.push(payload));
  return got;
}

export function sampleBody(serverId: string, n: number, pid = 4242): ProcessInfoBody {
  const now = new Date().toISOString();
  return {
    serverId,
    processInfo: {
      pid,
      cpu: n % 100,
      memory: { rss: 1_000_000 + n, heapUsed: 0, heapTotal: 0, external: 0 },
      uptime: n,
      timestamp: now,
    },
    timestamp: now,
  };
}

export function registryEntry(serverId: string, overrides: Partial<RegistryEntry> = {}): RegistryEntry {
  return {
    serverId,
    targetId: serverId,
    host: 'test-host',
    collectorId: 'test-collector',
    pid: 4242,
    command: 'node demo.js',
    startedAt: new Date().toISOString(),
    status: 'running',
    restarts: 0,
    intervalMs: 1000,
    staleAfterMs: 3000,
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Publishes like a collector: history + latest + room broadcast in one round trip. */
export class FakeCollector {
  readonly redis;
  readonly #writer;
  constructor(redisUrl: string, tls?: RedisTls) {
    this.redis = createRedis(redisUrl, 'command', { tls });
    this.#writer = new BatchWriter(this.redis);
  }
  async sample(serverId: string, n: number, entry?: Partial<RegistryEntry>): Promise<string> {
    const [position] = await this.#writer.write({
      appends: [
        {
          stream: Keys.metrics(serverId),
          maxLen: 1000,
          latestKey: Keys.latest(serverId),
          body: JSON.stringify(sampleBody(serverId, n)),
          frame: broadcastFrame('fake-collector', NAMESPACE, metricsRoom(serverId), ServerEvents.processInfo),
        },
      ],
      registry: [{ serverId, entry: JSON.stringify(registryEntry(serverId, entry)) }],
      heartbeats: [{ serverId, at: Date.now() }],
    });
    return position!;
  }
  /** Registers a server, as its collector does on its first tick (subscribing to unknown servers is refused). */
  async register(serverIds: string | string[], entry?: Partial<RegistryEntry>): Promise<void> {
    const ids = typeof serverIds === 'string' ? [serverIds] : serverIds;
    await this.#writer.write({
      appends: [],
      registry: ids.map((serverId) => ({ serverId, entry: JSON.stringify(registryEntry(serverId, entry)) })),
      heartbeats: ids.map((serverId) => ({ serverId, at: Date.now() })),
    });
  }
  /** Writes log lines like a collector (registered, each line to the stream and to its own level's room), in one round trip. */
  async lines(serverId: string, lines: Array<{ level: LogLevel; message: string }>, maxLen = 10_000): Promise<string[]> {
    const now = new Date().toISOString();
    return this.#writer.write({
      appends: lines.map((l) => ({
        stream: Keys.logs(serverId),
        maxLen,
        latestKey: null,
        body: JSON.stringify({ serverId, logData: { level: l.level, message: l.message, timestamp: now, metadata: {} }, timestamp: now }),
        frame: broadcastFrame('fake-collector', NAMESPACE, logsLevelRoom(serverId, l.level), ServerEvents.processLogs),
      })),
      registry: [{ serverId, entry: JSON.stringify(registryEntry(serverId)) }],
      heartbeats: [],
    });
  }
  close() {
    return closeRedis(this.redis);
  }
}

export async function emitAck<T = { ok: boolean; error?: { code: string; message: string } }>(
  socket: Socket,
  event: string,
  ...args: unknown[]
): Promise<T> {
  return (await socket.timeout(5000).emitWithAck(event, ...args)) as T;
}

/**
 * Restarts Redis under a running gateway: stopped until the gateway notices (readiness 503), then
 * started again, and a new collector (closed with the test) writes at once, before the gateway
 * has re-subscribed (it reconnects with a backoff).
 */
export async function restartRedisUnder(t: Teardown, redis: { url: string; stop(): Promise<unknown>; start(): Promise<unknown> }, gw: RunningGateway): Promise<FakeCollector> {
  await redis.stop();
  await waitFor(async () => (await gw.inject('/readyz')).statusCode === 503, { message: 'gateway notices the outage' });
  await redis.start();
  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  return collector;
}
