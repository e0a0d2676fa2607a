// The engine.io server Socket.IO runs on, one per app, attached to Fastify's HTTP server without
// owning it (closing Socket.IO never closes Fastify's server). Before Socket.IO sees a request:
// refused while draining; origins and per-address caps (connection-guard.ts) on polling requests
// and WebSocket upgrades alike. The JWT check belongs to a Socket.IO middleware after these.
import type { FastifyInstance } from 'fastify';
import { Server as Engine } from 'engine.io';
import type { ResolvedOptions } from './options.js';
import type { Readiness } from './readiness.js';
import type { ConnectionGuard } from './connection-guard.js';
import type { PublicOrigins } from './public-origins.js';

/** Where Socket.IO's engine takes its requests and upgrades (socket.io-client's default path). */
export const ENGINE_PATH = '/socket.io/';

export function createEngine(app: FastifyInstance, settings: ResolvedOptions, readiness: Readiness, edge: { guard: ConnectionGuard; origins: PublicOrigins }): Engine {
  const engine = new Engine({
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: settings.maxPayloadBytes,
    cors: { origin: (origin, callback) => callback(null, edge.origins.allows(origin)), credentials: true },
    allowRequest: (_req, callback) => {
      if (readiness.draining) callback('gateway is shutting down', false);
      else callback(null, true);
    },
  });
  engine.use(edge.guard.middleware);
  engine.on('connection', edge.guard.track);
  // Other upgrade handlers may share the HTTP server; do not destroy their upgrades.
  engine.attach(app.server, { path: ENGINE_PATH, destroyUpgrade: false });
  return engine;
}

