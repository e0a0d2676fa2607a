// Liveness and readiness for load balancers and Kubernetes probes: no token, never rate limited.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorCodes, HealthStatus, NotReadyStatus, ReadyStatus } from '@vigil/protocol';
import type { Readiness } from '../readiness.js';

export async function healthRoutes(app: FastifyInstance, { readiness, gatewayId }: { readiness: Readiness; gatewayId: string }): Promise<void> {
  const probes = app.withTypeProvider<TypeBoxTypeProvider>();
  probes.get('/healthz', { schema: { summary: 'liveness: the process answers', security: [], response: { 200: HealthStatus } } }, async () => ({
    status: 'ok' as const,
    gatewayId,
  }));

  probes.get(
    '/readyz',
    { schema: { summary: 'readiness: a message went through Redis pub/sub and back', security: [], response: { 200: ReadyStatus, 503: NotReadyStatus } } },
    async (_req, reply) => {
      const result = await readiness.check();
      if (result.ready) return { status: 'ready' as const, gatewayId, ready: true as const, ...(result.roundTripMs !== undefined ? { roundTripMs: result.roundTripMs } : {}) };
      const code = result.reason === 'shutting down' ? ErrorCodes.SHUTTING_DOWN : ErrorCodes.REDIS_UNAVAILABLE;
      const reason = result.reason ?? 'not ready';
      return reply.code(503).send({ status: 'not ready', gatewayId, ready: false, reason, error: { code, message: reason } });
    },
  );
}
