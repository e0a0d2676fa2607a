// Socket.IO as a Fastify plugin. Everything it opens (engine, Socket.IO server, adapter, sweeper)
// is created here per app instance and closed by this plugin's onClose hook, so an app can be
// built, closed and built again any number of times in one process. Socket.IO is bound to its
// own engine.io server so that closing it never closes Fastify's HTTP server: Fastify owns that.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server as Engine } from 'engine.io';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { ErrorCodes, Keys, NAMESPACE } from '@vigil/protocol';
import type { LogStore, ServerStore } from '@vigil/store';
import type { ResolvedOptions } from './options.js';
import type { RedisClients } from './redis-clients.js';
import { registerMonitoring } from './monitoring.js';
import { StaleSweeper } from './stale-sweeper.js';
import { SessionStore } from './sessions.js';
import { rejoinsItself, roomsOf } from './client-rooms.js';
import { PubSubRecovery } from './pubsub-recovery.js';
import { drainClients, type DrainOptions, type DrainResult } from './drain.js';
import type { GatewayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import type { PublicOrigins } from './public-origins.js';
import type { TrustFunction } from './client-address.js';
import { ConnectionGuard } from './connection-guard.js';
import { SlowConsumerSweep } from './slow-consumers.js';
import { paceRoomLeaves } from './paced-leave.js';
import { refuseBinary } from './binary-refusal.js';

export type SocketPluginOptions = {
  settings: ResolvedOptions;
  redis: RedisClients;
  store: ServerStore;
  logs: LogStore;
  logger: Logger;
  metrics: GatewayMetrics;
  readiness: Readiness;
  origins: PublicOrigins;
  trust: TrustFunction;
};

/** How often unsent bytes are measured: a paused reader gains at most this long of traffic past the limit. */
const SLOW_CONSUMER_SWEEP_MS = 250;

declare module 'fastify' {
  interface FastifyInstance {
    io: Server;
    /** Stop taking clients and let the connected ones go, in batches, to other gateways. */
    drain(options?: DrainOptions): Promise<DrainResult>;
  }
}

async function socketPlugin(app: FastifyInstance, { settings, redis, store, logs, logger, metrics, readiness, origins, trust }: SocketPluginOptions): Promise<void> {
  const guard = new ConnectionGuard({
    origins,
    trust,
    limits: { maxPerAddress: settings.maxConnectionsPerAddress, handshakesPerSecond: settings.handshakesPerSecond },
    logger,
    onRefuse: (code) => metrics.refusedConnection(code),
  });
  const engine = new Engine({
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: settings.maxPayloadBytes,
    cors: { origin: (origin, callback) => callback(null, origins.allows(origin)), credentials: true },
    allowRequest: (_req, callback) => {
      if (readiness.draining) {
        callback('gateway is shutting down', false);
        return;
      }
      callback(null, true);
    },
  });
  // Origins and per-address caps, for polling requests and WebSocket upgrades alike.
  engine.use(guard.middleware);
  // Other upgrade handlers may share the HTTP server; do not destroy their upgrades.
  engine.attach(app.server, { path: '/socket.io/', destroyUpgrade: false });

  const io = new Server({ serveClient: false, maxHttpBufferSize: settings.maxPayloadBytes });
  io.bind(engine);
  io.adapter(createShardedAdapter(redis.adapterPub, redis.adapterSub, { subscriptionMode: 'dynamic' }));
  const nsp = io.of(NAMESPACE);
  const paced = paceRoomLeaves(nsp.adapter);
  engine.on('connection', guard.track);
  engine.on('connection', refuseBinary(nsp, logger, () => metrics.rejected(ErrorCodes.INVALID_PAYLOAD)));
  const slowConsumers = new SlowConsumerSweep(nsp, {
    maxBufferedBytes: settings.maxBufferedBytes,
    everyMs: SLOW_CONSUMER_SWEEP_MS,
    logger,
    addressOf: (socket) => guard.addressOf(socket.request),
    onDisconnect: () => metrics.slowConsumer(),
  });
  slowConsumers.start();
  // Commands on one connection run in order: once a PING on the subscriber connection is
  // answered, every (s)subscribe sent before it is in effect and every message published before
  // it has been received.
  const syncSubscriptions = () => withTimeout(redis.sub.ping().then(() => undefined), 2000);
  registerMonitoring(nsp, {
    store,
    logs,
    logger,
    syncSubscriptions,
    onReject: (code) => metrics.rejected(code),
    get sessions() {
      return sessions;
    },
    // Unknown servers cost nothing. If Redis cannot say, let the subscription go ahead as before.
    isRegistered: (serverId) => redis.command.hexists(Keys.registry, serverId).then((n) => n === 1, () => true),
    limits: { maxRooms: settings.maxRoomsPerSocket, perSecond: settings.eventsPerSecond, burst: settings.eventBurst },
  });
  metrics.attach(nsp);
  const recovery = new PubSubRecovery(redis.sub, nsp, logs, logger, syncSubscriptions);
  const countMessage = (channel: Buffer, message: Buffer) => {
    const name = channel.toString();
    metrics.onRedisMessage(name, message);
    recovery.observe(name, message);
  };
  redis.sub.on('smessageBuffer', countMessage);
  const sessions = new SessionStore(redis.command, settings.gatewayId, settings.sessionTtlMs, logger);
  // Runs before Socket.IO sends CONNECT: the pid set here travels to the client, which sends it
  // back on its next connection (to any gateway).
  nsp.use((socket, next) => {
    const previous = (socket.handshake.auth as { pid?: unknown } | undefined)?.pid;
    const setId = (id: string) => ((socket as unknown as { pid?: string }).pid = id);
    if (!SessionStore.isValidId(previous) || rejoinsItself(socket)) {
      setId(SessionStore.newId());
      next();
      return;
    }
    withTimeout(sessions.load(previous), 1000).then(
      (found) => {
        setId(found ? previous : SessionStore.newId());
        if (found) socket.data.vigilRestore = found;
        next();
      },
      (err: Error) => {
        logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: err.message }, 'session not restored');
        setId(SessionStore.newId());
        next();
      },
    );
  });
  sessions.start(() => {
    const live: Array<{ id: string; rooms: ReturnType<typeof roomsOf> }> = [];
    for (const socket of nsp.sockets.values()) {
      const id = (socket as unknown as { pid?: string }).pid;
      const rooms = id ? roomsOf(socket.rooms) : [];
      if (id && rooms.length > 0) live.push({ id, rooms });
    }
    return live;
  });
  const sweeper = new StaleSweeper(nsp, store, logger, settings.staleSweepMs);
  sweeper.start();
  app.decorate('io', io);
  app.decorate('drain', async (options?: DrainOptions) => {
    readiness.markDraining();
    // Stop listening: a balancer fails over on a refused connection at once, while a refused
    // handshake (403/400) would bounce clients off this gateway until it exits. Connections
    // already open (our clients, in-flight requests) are unaffected.
    if (app.server.listening) app.server.close();
    return drainClients(nsp, logger, options);
  });

  app.addHook('preClose', async () => {
    sweeper.stop();
    slowConsumers.stop();
    sessions.stop();
    redis.sub.off('smessageBuffer', countMessage);
    recovery.close();
    // Clients see "transport close" and reconnect, to another gateway behind the balancer.
    // The adapter's unsubscribes wait on Redis; during an outage, do not wait for them.
    await withTimeout(io.close(), 2000).catch(() => undefined);
    paced.flush();
  });
}

/** The promise, or a rejection after `ms`; the timer never outlives the race. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export default fp(socketPlugin, { name: 'vigil-socket', fastify: '5.x' });
