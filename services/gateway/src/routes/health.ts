// Liveness and readiness for load balancers and Kubernetes probes.
import type { FastifyInstance } from 'fastify';
import { ErrorCodes } from '@vigil/protocol';
import type { Readiness } from '../readiness.js';

export async function healthRoutes(app: FastifyInstance, { readiness, gatewayId }: { readiness: Readiness; gatewayId: string }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok', gatewayId }));

  app.get('/readyz', async (_req, reply) => {
    const result = await readiness.check();
    reply.code(result.ready ? 200 : 503);
    if (result.ready) return { status: 'ready', gatewayId, ...result };
    const code = result.reason === 'shutting down' ? ErrorCodes.SHUTTING_DOWN : ErrorCodes.REDIS_UNAVAILABLE;
    return { status: 'not ready', gatewayId, ...result, error: { code, message: result.reason ?? 'not ready' } };
  });
}
