// buildApp() builds a gateway: Fastify + Socket.IO on the sharded Redis adapter + REST. It opens
// nothing that it does not also close: app.close() releases every socket, timer, listener and
// Redis connection, and a new buildApp() starts from nothing.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, NAMESPACE, SERVER_ID_MAX_LENGTH } from '@vigil/protocol';
import { AlertStore, AlertWriter, FleetStore, HostStore, LogStore, ServerRemover, ServerStore } from '@vigil/store';
import { resolveOptions, type GatewayOptions } from './options.js';
import { openRedisClients } from './redis-clients.js';
import { Readiness } from './readiness.js';
import socketPlugin from './socket-plugin.js';
import { serverRoutes } from './routes/servers.js';
import { healthRoutes } from './routes/health.js';
import { alertRoutes } from './routes/alerts.js';
import { hostRoutes } from './routes/hosts.js';
import { resolveAuth } from './auth/auth-config.js';
import { createVerifier } from './auth/verifier.js';
import { errorServerOptions, installErrorHandlers } from './http-errors.js';
import { installOpenApi, openApiRoutes } from './openapi.js';
import { GatewayMetrics } from './metrics.js';
import { DEFAULT_DASHBOARD_DIR, dashboardRoutes } from './dashboard.js';
import { trustFunction } from './client-address.js';
import { PublicOrigins } from './public-origins.js';
import { installHttpEdge } from './edge-http.js';
import { installMetricsServer } from './metrics-server.js';
import { ServerRemoval } from './server-removal.js';
import { RemovedServerAlerts } from './removed-alerts.js';
import { RetentionSweeper } from './retention-sweeper.js';
import { serverAdminRoutes } from './routes/server-admin.js';
import { FleetView } from './fleet-view.js';

declare module 'fastify' {
  interface FastifyInstance {
    gatewayId: string;
    /** Count of messages Redis delivered to this gateway on a channel. */
    redisReceived(channel: string): number;
  }
}

export type { GatewayOptions } from './options.js';

export async function buildApp(options: GatewayOptions): Promise<FastifyInstance> {
  const settings = resolveOptions(options);
  const base = settings.logger ?? pino({ level: 'silent' });
  const logger = base.child({ gatewayId: settings.gatewayId });
  const trust = trustFunction(settings.trustProxy);
  // Keys are read before anything opens: a bad key file leaves nothing to close.
  const auth = await resolveAuth(settings.auth);
  if (auth.mode === 'none') logger.warn({ auth: 'none' }, auth.warning);
  else logger.info({ auth: auth.keys.describe, audience: auth.audience, issuer: auth.issuer }, 'tokens required');
  const verifier = createVerifier(auth);
  const app = Fastify({
    // Request lines name the path, never the query: a token pasted into a URL (`?token=`, refused
    // everywhere) must not reach the log on its way to being refused.
    loggerInstance: logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    // request.ip: X-Forwarded-For only from trusted proxies (the same rule as the socket handshake).
    trustProxy: trust,
    // Every valid server id fits in a path segment, even percent-encoded (Fastify's default is 100).
    routerOptions: { maxParamLength: SERVER_ID_MAX_LENGTH * 3 + 16 },
    // Probes come every few seconds from every balancer and kubelet: not worth a line each.
    logController: new LogController({ disableRequestLogging: (req) => req.url === '/healthz' || req.url === '/readyz' }),
    bodyLimit: 64 * 1024,
    forceCloseConnections: 'idle',
    // 503 SHUTTING_DOWN while closing comes from installErrorHandlers, in vigil's error shape.
    return503OnClosing: false,
    ...errorServerOptions,
    // Unknown query fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });
  const metrics = new GatewayMetrics(settings.gatewayId, settings.metricsRegistries, settings.silentSessionMs);
  const redis = openRedisClients(settings.redisUrl, settings.gatewayId, logger, (op) => metrics.redisFailure(op), settings.redisTls, settings.redisClusterNodes);
  const onCorrupt = (what: string) => logger.warn({ code: ErrorCodes.REDIS_CORRUPT, what }, 'skipped a malformed entry in redis');
  const store = new ServerStore(redis.command, { onCorrupt });
  const logs = new LogStore(redis.command, { onCorrupt });
  const hosts = new HostStore(redis.command, { onCorrupt });
  // The fleet summary's rows: read only while a subscriber or a REST page wants them.
  const fleet = new FleetView(new FleetStore(redis.command, { onCorrupt }), logger);
  const readiness = new Readiness(redis, settings.gatewayId, settings.readinessTimeoutMs);
  app.decorate('gatewayId', settings.gatewayId);
  app.decorate('redisReceived', (channel: string) => metrics.received(channel));

  // Hooks run in reverse order on close: sockets first (socket plugin), then Redis.
  app.addHook('onClose', async () => {
    await redis.close();
  });
  app.addHook('preClose', async () => {
    readiness.close();
  });
  installErrorHandlers(app, (op) => metrics.redisFailure(op));
  // Before every route, so that each one is in /api/openapi.json (its test checks that).
  await installOpenApi(app);
  const origins = new PublicOrigins(settings.publicOrigins, () => (app.server.address() as AddressInfo | null)?.port);
  installMetricsServer(app, { port: settings.metricsPort, host: settings.metricsHost, metrics });
  await installHttpEdge(app, { origins, rateLimit: settings.restRateLimit > 0 ? { max: settings.restRateLimit, windowMs: 60_000 } : false });
  // Socket.IO: the handshake guard (origin, per-address caps), then the token, then the session.
  await app.register(socketPlugin, { settings, redis, store, logs, hosts, logger, metrics, readiness, origins, trust, verifier, fleet });
  await app.register(healthRoutes, { readiness, gatewayId: settings.gatewayId });
  await app.register(openApiRoutes);
  await app.register(serverRoutes, { store, logs, fleet, verifier, logger });
  const alerts = new AlertStore(redis.command, { onCorrupt });
  await app.register(alertRoutes, { alerts, verifier, logger });
  // Servers that left: removed at once by an admin, or after the retention by whichever gateway
  // sweeps first; then what still fires for them is resolved.
  const removedAlerts = new RemovedServerAlerts(alerts, new AlertWriter(redis.command, `vigil-gateway:${settings.gatewayId}`), logger);
  const removal = new ServerRemoval(app.io.of(NAMESPACE), new ServerRemover(redis.command), logger, metrics.registry, (serverId, reason) =>
    removedAlerts.resolve(serverId, reason),
  );
  await app.register(serverAdminRoutes, { removal, verifier, logger });
  const retention = new RetentionSweeper(removal, settings.serverRetentionMs, logger);
  retention.start();
  app.addHook('preClose', async () => retention.stop());
  await app.register(hostRoutes, { hosts, verifier, logger });
  await app.register(dashboardRoutes, { dir: settings.dashboardDir ?? DEFAULT_DASHBOARD_DIR });
  return app;
}

/** What a request line of the log says of a request: its path without the query string. */
function requestForLog(req: { method?: string; url?: string; hostname?: string; ip?: string }): Record<string, unknown> {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return { method: req.method, url: q === -1 ? url : `${url.slice(0, q)}?…`, host: req.hostname, remoteAddress: req.ip };
}
