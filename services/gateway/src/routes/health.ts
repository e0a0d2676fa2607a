// Liveness and readiness for load balancers and Kubernetes probes.
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../readiness.js';

export async function healthRoutes(app: FastifyInstance, { readiness, gatewayId }: { readiness: Readiness; gatewayId: string }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok', gatewayId }));

  app.get('/readyz', async (_req, reply) => {
    const result = await readiness.check();
    reply.code(result.ready ? 200 : 503);
    return { status: result.ready ? 'ready' : 'not ready', gatewayId, ...result };
  });
}
