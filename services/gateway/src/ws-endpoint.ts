// The plain WebSocket endpoint `/ws` (@fastify/websocket): the same events, rooms, limits and
// tokens as the Socket.IO namespace, served by the same handlers (monitoring.ts) through a
// WsClient. At the upgrade, in order: draining → 503; origin and per-address caps and handshake
// rate (connection-guard.ts) → 403/429; `Authorization: Bearer <jwt>` (the one verifier) → 401.
// A refused upgrade is an HTTP answer `{ error: { code, message } }`, never a WebSocket.
// After it: heartbeats (a peer that misses a ping is closed), unsent bytes capped (the slow
// consumer sweep), 1001 on drain and on app close. Sessions are not restored: a /ws client
// re-subscribes after a reconnect (logs with `since`).
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import { ErrorCodes, VigilError, WS_PATH, type ErrorCode, type Permissions } from '@vigil/protocol';
import type { ResolvedOptions } from './options.js';
import type { Readiness } from './readiness.js';
import type { ConnectionGuard } from './connection-guard.js';
import type { Verifier } from './auth/verifier.js';
import { refusalOf } from './auth/socket-auth.js';
import { bearerToken } from './auth/rest-auth.js';
import { statusOf } from './http-errors.js';
import type { MonitoringDeps } from './socket-context.js';
import { ClientActivity } from './client-activity.js';
import { serveClient } from './monitoring.js';
import { SlowConsumerSweep } from './slow-consumers.js';
import { WsClient } from './ws-client.js';
import { WsDelivery } from './ws-delivery.js';
import { ENGINE_PATH } from './engine.js';

export type WsEndpointOptions = {
  nsp: Namespace;
  settings: ResolvedOptions;
  readiness: Readiness;
  guard: ConnectionGuard;
  verifier: Verifier;
  logger: Logger;
  /** The handlers' dependencies, as for Socket.IO (sessions: none). */
  deps: MonitoringDeps;
  slowConsumerSweepMs: number;
  onSlowConsumer(): void;
  /** How long a close waits for the peer's close frame before dropping the connection. */
  closeTimeoutMs: number;
};

export type WsEndpoint = {
  /** The connected /ws clients. */
  readonly clients: WsDelivery<WsClient>;
};

function refuse(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).header('connection', 'close').send({ error: { code, message } });
}

/** An upgrade to a path nothing serves: 404 in vigil's error shape, then the socket is closed. */
function refuseStrayUpgrade(socket: Duplex, path: string): void {
  const body = JSON.stringify({ error: { code: ErrorCodes.NOT_FOUND, message: `no WebSocket at ${path.slice(0, 200)}; use ${WS_PATH} or Socket.IO` } });
  socket.on('error', () => undefined);
  socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}

export async function installWsEndpoint(app: FastifyInstance, o: WsEndpointOptions): Promise<WsEndpoint> {
  const clients = new WsDelivery<WsClient>(o.nsp);
  const admitted = new WeakMap<IncomingMessage, { permissions: Permissions; address: string }>();
  let closing = false;

  // Only /ws upgrades reach the plugin: it would answer every other upgrade (Socket.IO's) with 404.
  const upgrades = new EventEmitter();
  const upgradeRequests = new WeakSet<IncomingMessage>();
  const forward = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    if (path.startsWith(ENGINE_PATH)) return; // engine.io's (Socket.IO's websocket transport)
    if (path !== WS_PATH) {
      // Nobody else takes upgrades: answer, or the socket would hang open with no timeout.
      refuseStrayUpgrade(socket, path);
      return;
    }
    upgradeRequests.add(req);
    upgrades.emit('upgrade', req, socket, head);
  };
  app.server.on('upgrade', forward);
  // An upgrade answered with HTTP (refused, by any hook: the origin check runs before the plugin
  // marks the request as a WebSocket one) must not keep its socket open. An upgraded one never
  // gets here (its reply is hijacked).
  app.addHook('onResponse', async (req) => {
    if (upgradeRequests.has(req.raw)) req.raw.socket.destroy();
  });

  const releaseAll = () => {
    for (const client of [...clients.values()]) client.release();
  };
  await app.register(websocket, {
    // closeTimeout is an option of ws 8 its types do not list yet.
    options: { server: upgrades as never, maxPayload: o.settings.maxPayloadBytes, perMessageDeflate: false, ...({ closeTimeout: o.closeTimeoutMs } as object) },
    // ws closes the connection itself on a protocol error (1009 too big, 1007 bad UTF-8): log it only.
    errorHandler: (err) => o.logger.debug({ err: err.message }, 'ws connection error'),
    preClose: (done) => {
      closing = true;
      app.server.off('upgrade', forward);
      releaseAll();
      app.websocketServer.close(() => undefined);
      done();
    },
  });

  const heartbeat = setInterval(() => {
    for (const client of clients.values()) {
      if (!client.alive) client.terminate();
      else {
        client.alive = false;
        client.ping();
      }
    }
  }, o.settings.wsHeartbeatMs);
  heartbeat.unref();
  const slowConsumers = new SlowConsumerSweep(() => clients.values(), {
    maxBufferedBytes: o.settings.maxBufferedBytes,
    everyMs: o.slowConsumerSweepMs,
    logger: o.logger,
    onDisconnect: o.onSlowConsumer,
  });
  slowConsumers.start();
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    slowConsumers.stop();
  });

  const checkUpgrade = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.ws) return refuse(reply, 426, ErrorCodes.INVALID_FRAME, `${WS_PATH} is a WebSocket endpoint: send an upgrade request`);
    if (closing || o.readiness.draining) return refuse(reply, 503, ErrorCodes.SHUTTING_DOWN, 'gateway is shutting down; connect to another');
    const refusal = o.guard.check(req.raw);
    if (refusal) return refuse(reply, refusal.status, refusal.code, refusal.message);
    const token = bearerToken(req.headers.authorization);
    let permissions: Permissions;
    try {
      if (token === null) throw new VigilError(ErrorCodes.UNAUTHORIZED, 'the Authorization header must be "Bearer <token>"');
      if (token === undefined && o.verifier.enabled && new URL(req.url, 'http://x').searchParams.has('token')) {
        throw new VigilError(ErrorCodes.UNAUTHORIZED, 'no token: send it as "Authorization: Bearer <token>", never in the URL');
      }
      permissions = await o.verifier.verify(token);
    } catch (err) {
      const reason = refusalOf(err, o.logger);
      o.logger.debug({ code: reason.code, reason: reason.message, address: o.guard.addressOf(req.raw) }, 'ws upgrade refused');
      return refuse(reply, statusOf(reason.code as ErrorCode), reason.code as ErrorCode, reason.message);
    }
    admitted.set(req.raw, { permissions, address: o.guard.addressOf(req.raw) });
    return undefined;
  };

  // schema.hide: an upgrade to a WebSocket is not a REST operation; docs/protocol.md ("/ws") describes it.
  app.get(WS_PATH, { websocket: true, onRequest: checkUpgrade, config: { rateLimit: false }, schema: { hide: true } }, (ws, req) => {
    const who = admitted.get(req.raw);
    if (!who || closing) {
      ws.close(1001, 'gateway going away');
      return;
    }
    o.guard.track({ request: req.raw, once: (_event, fn) => ws.once('close', fn) });
    const activity = new ClientActivity(Date.now(), { perSecond: o.deps.limits.perSecond, burst: o.deps.limits.burst });
    const client = new WsClient(ws, {
      adapter: o.nsp.adapter,
      address: who.address,
      permissions: who.permissions,
      admit: () => activity.admit(Date.now()),
      ...(o.deps.onReject ? { onReject: o.deps.onReject } : {}),
    });
    clients.add(client);
    ws.once('close', () => clients.delete(client));
    serveClient(client, o.deps, activity);
  });

  return { clients };
}

