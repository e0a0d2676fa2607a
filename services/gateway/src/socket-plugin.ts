// Socket.IO and the plain WebSocket endpoint /ws as a Fastify plugin; this file only wires.
// Everything it opens (engine, Socket.IO server, adapter, /ws endpoint, sessions, Redis listener,
// sweeper) is created per app instance and closed by
// its preClose hook, so an app can be built, closed and built again any number of times in one
// process.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { ErrorCodes, Keys, NAMESPACE } from '@vigil/protocol';
import { InOrder, withTimeout } from '@vigil/protocol/runtime';
import { AlertStore, AlertWriter, InterestStore, type HostStore, type LogStore, type ServerStore } from '@vigil/store';
import { StaleAlerts } from './stale-alerts.js';
import { AlertWebhook } from './alert-webhook.js';
import type { ResolvedOptions } from './options.js';
import type { RedisClients } from './redis-clients.js';
import { createEngine } from './engine.js';
import { registerMonitoring } from './monitoring.js';
import { StaleSweeper } from './stale-sweeper.js';
import { ClientSessions } from './sessions/client-sessions.js';
import { SessionStore } from './sessions/store.js';
import { listenToRedis, subscriptionSync } from './redis-listener.js';
import { installDrain } from './drain.js';
import type { GatewayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import type { PublicOrigins } from './public-origins.js';
import type { TrustFunction } from './client-address.js';
import { ConnectionGuard } from './connection-guard.js';
import { SlowConsumerSweep } from './slow-consumers.js';
import { paceRoomLeaves } from './paced-leave.js';
import { refuseBinary } from './binary-refusal.js';
import type { Verifier } from './auth/verifier.js';
import { handshakeAuth } from './auth/socket-auth.js';
import { GatewayInterest } from './interest.js';
import type { MonitoringDeps, SessionKeeper } from './socket-context.js';
import { FleetHub } from './fleet-subscriptions.js';
import type { FleetView } from './fleet-view.js';
import { clientOf, socketOf } from './socketio-client.js';
import { installWsEndpoint } from './ws-endpoint.js';
import { WsClient } from './ws-client.js';
import { sendAlike } from './ws-delivery.js';
import type { Client } from './client.js';

type SocketPluginOptions = {
  settings: ResolvedOptions;
  redis: RedisClients;
  store: ServerStore;
  logs: LogStore;
  hosts: HostStore;
  logger: Logger;
  metrics: GatewayMetrics;
  readiness: Readiness;
  origins: PublicOrigins;
  trust: TrustFunction;
  verifier: Verifier;
  /** The fleet view, shared with REST (app.ts). */
  fleet: FleetView;
};

declare module 'fastify' {
  interface FastifyInstance {
    io: Server;
  }
}

/** How long closing waits for the adapter's unsubscribes, which wait on Redis (maybe away). */
const CLOSE_TIMEOUT_MS = 2000;
/** How often unsent bytes are measured: a paused reader gains at most this long of traffic past the limit. */
const SLOW_CONSUMER_SWEEP_MS = 250;

async function socketPlugin(app: FastifyInstance, { settings, redis, store, logs, hosts, logger, metrics, readiness, origins, trust, verifier, fleet: fleetView }: SocketPluginOptions): Promise<void> {
  const guard = new ConnectionGuard({
    origins,
    trust,
    limits: { maxPerAddress: settings.maxConnectionsPerAddress, handshakesPerSecond: settings.handshakesPerSecond },
    logger,
    onRefuse: (code) => metrics.refusedConnection(code),
  });
  const io = new Server({ serveClient: false, maxHttpBufferSize: settings.maxPayloadBytes });
  const engine = createEngine(app, settings, readiness, { guard, origins });
  io.bind(engine);
  io.adapter(createShardedAdapter(redis.adapterPub, redis.adapterSub, { subscriptionMode: 'dynamic' }));
  const nsp = io.of(NAMESPACE);
  const pacedLeaves = paceRoomLeaves(nsp.adapter);
  engine.on('connection', refuseBinary(nsp, logger, () => metrics.rejected(ErrorCodes.INVALID_PAYLOAD)));
  const socketIoClients = function* () {
    for (const socket of nsp.sockets.values()) yield clientOf(socket);
  };
  const slowConsumers = new SlowConsumerSweep(socketIoClients, {
    maxBufferedBytes: settings.maxBufferedBytes,
    everyMs: SLOW_CONSUMER_SWEEP_MS,
    logger,
    addressOf: (client) => guard.addressOf(socketOf(client)!.request),
    onDisconnect: () => metrics.slowConsumer(),
  });
  slowConsumers.start();
  const syncSubscriptions = subscriptionSync(redis.sub);
  // Before the session middleware: a client without a valid token never reaches Redis.
  nsp.use(handshakeAuth(verifier, logger));
  const onCorrupt = (what: string) => logger.warn({ code: ErrorCodes.REDIS_CORRUPT, what }, 'skipped a malformed entry in redis');
  const alerts = new AlertStore(redis.command, { onCorrupt });
  const sessions = new ClientSessions(nsp, new SessionStore(redis.command, settings.gatewayId, settings.sessionTtlMs, logger), logger);
  const interest = new GatewayInterest({
    nsp,
    store: new InterestStore(redis.command),
    entries: (ids) => store.entries(ids),
    gatewayId: settings.gatewayId,
    logger,
  });
  // Several clients sent the same fleet delta get it from one encoding per transport.
  const fleet = new FleetHub(fleetView, logger, undefined, (clients, event, data) =>
    sendAlike(nsp, clients, (c): c is Client & WsClient => c instanceof WsClient, event, data),
  );
  const staleAlerts = new StaleAlerts({ redis: redis.command, store, alerts, writer: new AlertWriter(redis.command, `vigil-gateway:${settings.gatewayId}`), logger });
  const sweeper = new StaleSweeper(nsp, store, logger, settings.staleSweepMs, () => staleAlerts.sweep());
  const deps: MonitoringDeps = {
    staleness: sweeper,
    interest,
    fleet,
    store,
    logs,
    hosts,
    logger,
    sessions,
    syncSubscriptions,
    auth: { verifier, warningMs: settings.tokenExpiryWarningMs },
    onReject: (code) => metrics.rejected(code),
    ...(settings.refuseUnknownServers ? { isRegistered: (serverId: string) => collectorWroteFor(redis.command, serverId) } : {}),
    replays: new InOrder(),
    alerts,
    limits: { maxRooms: settings.maxRoomsPerSocket, perSecond: settings.eventsPerSecond, burst: settings.eventBurst },
  };
  registerMonitoring(nsp, deps);
  const ws = await installWsEndpoint(app, {
    nsp,
    settings,
    readiness,
    guard,
    verifier,
    logger,
    deps: { ...deps, sessions: NO_SESSIONS },
    slowConsumerSweepMs: SLOW_CONSUMER_SWEEP_MS,
    onSlowConsumer: () => metrics.slowConsumer(),
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
  });
  metrics.attach(nsp, () => ws.clients.size);
  const listener = listenToRedis(redis.sub, { clients: () => [...socketIoClients(), ...ws.clients.values()], logs, logger, metrics, sync: syncSubscriptions });
  sessions.start();
  interest.start();
  sweeper.start();
  const webhook =
    settings.alertWebhookUrl === undefined
      ? null
      : new AlertWebhook({
          url: settings.alertWebhookUrl,
          timeoutMs: settings.alertWebhookTimeoutMs,
          attempts: settings.alertWebhookAttempts,
          backoffMs: settings.alertWebhookBackoffMs,
          concurrency: settings.alertWebhookConcurrency,
          claimIdleMs: settings.alertWebhookClaimIdleMs,
          pollMs: Math.min(settings.staleSweepMs, 1000),
          redis: redis.command,
          consumer: settings.gatewayId,
          logger,
          registry: metrics.registry,
        });
  webhook?.start();
  app.decorate('io', io);
  installDrain(app, () => [...socketIoClients(), ...[...ws.clients.values()].filter((c) => c.connected)], readiness, logger);

  app.addHook('preClose', async () => {
    sweeper.stop();
    fleet.close();
    await webhook?.stop();
    slowConsumers.stop();
    sessions.stop();
    listener.close();
    // Clients see "transport close" and reconnect, to another gateway behind the balancer.
    // During an outage, do not wait for the adapter.
    await withTimeout(io.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
    pacedLeaves.flush();
    await withTimeout(interest.stop(), CLOSE_TIMEOUT_MS).catch(() => undefined);
  });
}

/** A /ws client has no session: it re-subscribes itself after a reconnect (logs with `since`). */
const NO_SESSIONS: SessionKeeper = { save: () => undefined, withdraw: () => undefined, connected: () => undefined };

/**
 * Whether a collector has written for this server: its registry entry, or (Redis restarted empty
 * and the collector has not registered again yet) its latest sample or log history. Only
 * collectors write these keys. If Redis cannot say, the subscription goes ahead as before.
 */
function collectorWroteFor(redis: RedisClients['command'], serverId: string): Promise<boolean> {
  return redis
    .hexists(Keys.registry, serverId)
    .then(async (n) => n === 1 || (await redis.exists(Keys.latest(serverId), Keys.logs(serverId))) > 0)
    .catch(() => true);
}

export default fp(socketPlugin, { name: 'vigil-socket', fastify: '5.x' });
