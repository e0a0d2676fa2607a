// Draining on SIGTERM: readiness turns false at once (the balancer stops sending new clients),
// new handshakes are refused, and connected clients are let go in small batches by closing
// their transport. They see "transport close" and reconnect by themselves, through the balancer,
// to another gateway. (disconnect(true) would tell them "io server disconnect": they would never
// come back.) Batches keep the other gateways from a thundering herd.
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';

export type DrainOptions = {
  /** Longest the drain may take; clients still connected then are closed with the server. Default 10000. */
  maxMs?: number;
  /** Pause between batches. Default 100. */
  intervalMs?: number;
  /** Smallest batch. Default 25. */
  minBatch?: number;
};

export type DrainResult = { clients: number; disconnected: number; remaining: number; ms: number };

export async function drainClients(nsp: Namespace, logger: Logger, options: DrainOptions = {}): Promise<DrainResult> {
  const maxMs = options.maxMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  const clients = nsp.sockets.size;
  // Spread the clients over at most half the window, so the rest absorbs slow reconnects.
  const rounds = Math.max(1, Math.floor(maxMs / 2 / intervalMs));
  const batch = Math.max(options.minBatch ?? 25, Math.ceil(clients / rounds));
  let disconnected = 0;
  logger.info({ clients, batch, intervalMs, maxMs }, 'draining clients');
  while (nsp.sockets.size > 0 && Date.now() - started < maxMs) {
    let n = 0;
    for (const socket of nsp.sockets.values()) {
      if (n++ >= batch) break;
      socket.conn.close();
      disconnected++;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const result = { clients, disconnected, remaining: nsp.sockets.size, ms: Date.now() - started };
  logger.info(result, 'drain finished');
  return result;
}
