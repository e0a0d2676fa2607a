// The engine.io server Socket.IO runs on, one per app, attached to Fastify's HTTP server without
// owning it (closing Socket.IO never closes Fastify's server). It checks each handshake: refused
// while draining, and from browser origins not allowed.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Server as Engine } from 'engine.io';
import type { ResolvedOptions } from './options.js';
import type { Readiness } from './readiness.js';

export function createEngine(app: FastifyInstance, settings: ResolvedOptions, readiness: Readiness, logger: Logger): Engine {
  const allowed = new Set(settings.corsOrigins);
  const engine = new Engine({
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: settings.maxPayloadBytes,
    cors: { origin: settings.corsOrigins.includes('*') ? true : settings.corsOrigins, credentials: true },
    // Browsers send Origin: allow the configured origins and the gateway's own (a page it
    // served, or one served through the same load balancer host). Scripts send none.
    allowRequest: (req, callback) => {
      if (readiness.draining) {
        callback('gateway is shutting down', false);
        return;
      }
      const ok = isOriginAllowed(req.headers.origin, req.headers.host, allowed);
      if (!ok) logger.warn({ origin: String(req.headers.origin).slice(0, 200) }, 'socket handshake refused: origin not allowed');
      callback(ok ? null : 'origin not allowed', ok);
    },
  });
  // Other upgrade handlers may share the HTTP server; do not destroy their upgrades.
  engine.attach(app.server, { path: '/socket.io/', destroyUpgrade: false });
  return engine;
}

function isOriginAllowed(origin: string | undefined, host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  if (allowed.has(origin) || allowed.has('*')) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
