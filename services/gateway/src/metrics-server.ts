// /metrics on a port of its own, off the public edge: what the gateway counts (clients, rooms,
// rejected events, slow consumers) is for the operator's Prometheus, not for every visitor.
// It listens when the app becomes ready and closes with it.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { GatewayMetrics } from './metrics.js';
import { errorServerOptions, installErrorHandlers, installNotFoundHandler } from './http-errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where /metrics is served (null when it is off or not listening yet). */
    metricsAddress(): { host: string; port: number; url: string } | null;
  }
}

export type MetricsServerOptions = { port: number | false; host: string; metrics: GatewayMetrics };

export function installMetricsServer(app: FastifyInstance, { port, host, metrics }: MetricsServerOptions): void {
  let server: FastifyInstance | null = null;
  app.decorate('metricsAddress', () => {
    const address = server?.server.address() as AddressInfo | null | undefined;
    if (!address || typeof address !== 'object') return null;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, url: `http://${shown}:${address.port}/metrics` };
  });
  if (port === false) return;
  app.addHook('onReady', async () => {
    const s = Fastify({ logger: false, forceCloseConnections: true, return503OnClosing: false, ...errorServerOptions });
    installErrorHandlers(s);
    installNotFoundHandler(s);
    s.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    });
    await s.listen({ host, port });
    server = s;
  });
  app.addHook('onClose', async () => {
    await server?.close();
    server = null;
  });
}
