// REST identity: `Authorization: Bearer <token>` on every /api route (a 401 with a code and a
// `WWW-Authenticate` challenge otherwise), and the rules that keep server ids from being probed:
// a server outside the token's globs answers exactly as one that does not exist.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes, VigilError, type Permissions } from '@vigil/protocol';
import type { Verifier } from './verifier.js';
import { refusalOf } from './socket-auth.js';
import { addRouteResponses, errorResponses } from '../http-errors.js';

/** The security scheme of /api/openapi.json that a bearer route requires. */
export const BEARER_SCHEME = 'bearer';

declare module 'fastify' {
  interface FastifyRequest {
    /** The permissions of the request's bearer token (set by requireBearer). */
    vigilPermissions: Permissions | null;
  }
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * The token of an `Authorization: Bearer <token>` header (REST and the /ws upgrade alike):
 * undefined when there is no header, null when there is one of another form.
 */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * Adds the bearer check to every route of `app` registered after it (call it first inside the
 * /api routes' plugin), and says so in their schemas: the security requirement and the 401.
 */
export function requireBearer(app: FastifyInstance, verifier: Verifier, logger: Logger): void {
  if (!app.hasRequestDecorator('vigilPermissions')) app.decorateRequest('vigilPermissions', null);
  addRouteResponses(app, errorResponses({ 401: 'no token, or one that is invalid or expired' }));
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ [BEARER_SCHEME]: [] }] };
  });
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const token = bearerToken(header);
    try {
      if (token === null && verifier.enabled) {
        throw new VigilError(ErrorCodes.UNAUTHORIZED, 'expected "Authorization: Bearer <token>"');
      }
      req.vigilPermissions = await verifier.verify(token ?? undefined);
    } catch (err) {
      const { code, message } = refusalOf(err, logger);
      // RFC 6750: no error attribute when no credentials were sent at all.
      const challenge = header === undefined ? 'Bearer realm="vigil"' : 'Bearer realm="vigil", error="invalid_token"';
      return reply.code(401).header('www-authenticate', challenge).send({ error: { code, message } });
    }
  });
}

/** The request's permissions; a route behind requireBearer always has them. */
export function requestPermissions(req: FastifyRequest): Permissions {
  if (!req.vigilPermissions) throw new VigilError(ErrorCodes.UNAUTHORIZED, 'no token');
  return req.vigilPermissions;
}

/** Who may not see a server is told it does not exist: the same code and message as a missing one. */
export function notFound(serverId: string): VigilError {
  return new VigilError(ErrorCodes.SERVER_NOT_FOUND, `no server "${serverId}" is registered`);
}

export function requireVisible(permissions: Permissions, serverId: string): void {
  if (!permissions.canSee(serverId)) throw notFound(serverId);
}

/** For a server the token may see: its logs need `logs`. */
export function requireLogs(permissions: Permissions, serverId: string): void {
  requireVisible(permissions, serverId);
  if (!permissions.logs) throw new VigilError(ErrorCodes.FORBIDDEN, `this token may not read logs (server "${serverId}")`);
}
