// Draining on SIGTERM: readiness turns false at once (the balancer stops sending new clients),
// new handshakes are refused, and connected clients are let go in small batches by closing
// their transport. They see "transport close" and reconnect by themselves, through the balancer,
// to another gateway. (disconnect(true) would tell them "io server disconnect": they would never
// come back.) /ws clients get close 1001 (going away). Batches keep the other gateways from a
// thundering herd.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Client } from './client.js';
import type { Readiness } from './readiness.js';

/** Longest a drain takes by default (the env's VIGIL_DRAIN_MS default too). */
export const DEFAULT_DRAIN_MS = 10_000;

export type DrainOptions = {
  /** Longest the drain may take; clients still connected then are closed with the server. Default DEFAULT_DRAIN_MS. */
  maxMs?: number;
  /** Pause between batches. Default 100. */
  intervalMs?: number;
  /** Smallest batch. Default 25. */
  minBatch?: number;
};

export type DrainResult = { clients: number; disconnected: number; remaining: number; ms: number };

async function drainClients(connected: () => Client[], logger: Logger, options: DrainOptions = {}): Promise<DrainResult> {
  const maxMs = options.maxMs ?? DEFAULT_DRAIN_MS;
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  const clients = connected().length;
  // Spread the clients over at most half the window, so the rest absorbs slow reconnects.
  const rounds = Math.max(1, Math.floor(maxMs / 2 / intervalMs));
  const batch = Math.max(options.minBatch ?? 25, Math.ceil(clients / rounds));
  let disconnected = 0;
  logger.info({ clients, batch, intervalMs, maxMs }, 'draining clients');
  for (let open = connected(); open.length > 0 && Date.now() - started < maxMs; open = connected()) {
    for (const client of open.slice(0, batch)) {
      client.release();
      disconnected++;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const result = { clients, disconnected, remaining: connected().length, ms: Date.now() - started };
  logger.info(result, 'drain finished');
  return result;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Stop taking clients and let the connected ones go, in batches, to other gateways. */
    drain(options?: DrainOptions): Promise<DrainResult>;
  }
}

/** Gives the app its drain(): readiness false and handshakes refused at once, then the clients go. */
export function installDrain(app: FastifyInstance, connected: () => Client[], readiness: Readiness, logger: Logger): void {
  app.decorate('drain', async (options?: DrainOptions) => {
    readiness.markDraining();
    // Stop listening: a balancer fails over on a refused connection at once, while a refused
    // handshake (403/400) would bounce clients off this gateway until it exits. Connections
    // already open (our clients, in-flight requests) are unaffected.
    if (app.server.listening) app.server.close();
    return drainClients(connected, logger, options);
  });
}
