// Every HTTP error answers `{ error: { code, message } }` with a stable code.
import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCodes, VigilError } from '@vigil/protocol';

const STATUS: Partial<Record<string, number>> = {
  [ErrorCodes.SERVER_NOT_FOUND]: 404,
  [ErrorCodes.HOST_NOT_FOUND]: 404,
  [ErrorCodes.INVALID_QUERY]: 400,
  [ErrorCodes.INVALID_PAYLOAD]: 400,
  [ErrorCodes.REDIS_UNAVAILABLE]: 503,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.ORIGIN_REFUSED]: 403,
  [ErrorCodes.FORBIDDEN]: 403,
};

export function installErrorHandlers(app: FastifyInstance, onRedisFailure?: (op: string) => void): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof VigilError && err.expose) {
      return reply.code(STATUS[err.code] ?? 500).send({ error: { code: err.code, message: err.message } });
    }
    if (err.validation) {
      return reply.code(400).send({ error: { code: ErrorCodes.INVALID_QUERY, message: err.message } });
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: { code: ErrorCodes.INVALID_QUERY, message: err.message } });
    }
    if (isRedisFailure(err)) {
      onRedisFailure?.('request');
      req.log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: err.message }, 'redis unavailable');
      return reply.code(503).send({ error: { code: ErrorCodes.REDIS_UNAVAILABLE, message: 'redis is unavailable; try again shortly' } });
    }
    req.log.error({ code: ErrorCodes.INTERNAL, err }, 'request failed');
    return reply.code(500).send({ error: { code: ErrorCodes.INTERNAL, message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: ErrorCodes.SERVER_NOT_FOUND, message: `no route ${req.method} ${req.url.slice(0, 200)}` } }),
  );
}

function isRedisFailure(err: Error): boolean {
  const m = err.message ?? '';
  return /max retries per request|Connection is closed|Command timed out|Stream isn't writeable|ECONNREFUSED|ECONNRESET/i.test(m);
}
