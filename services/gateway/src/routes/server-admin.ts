// Administering servers over REST: `DELETE /api/servers/:id` removes a server with all its keys
// at once and tells its watchers (`server-removed`). Only a token whose claim says `admin` may:
// any other gets 403, whatever the server; an admin gets 404 for a server it cannot see or that
// does not exist.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ErrorCodes, ServerId, ServerRemoved, VigilError } from '@vigil/protocol';
import type { Verifier } from '../auth/verifier.js';
import { notFound, requestPermissions, requireBearer, requireVisible } from '../auth/rest-auth.js';
import type { ServerRemoval } from '../server-removal.js';

type ServerAdminOptions = { removal: ServerRemoval; verifier: Verifier; logger: Logger };

const Params = Type.Object({ id: ServerId }, { additionalProperties: false });
/** vigil's error shape (http-errors.ts). */
const ErrorReply = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });

export async function serverAdminRoutes(app: FastifyInstance, { removal, verifier, logger }: ServerAdminOptions): Promise<void> {
  requireBearer(app, verifier, logger);

  app.delete<{ Params: Static<typeof Params> }>(
    '/api/servers/:id',
    {
      schema: {
        params: Params,
        response: { 200: ServerRemoved, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply, 503: ErrorReply },
      },
    },
    async (req) => {
      const permissions = requestPermissions(req);
      if (!permissions.admin) throw new VigilError(ErrorCodes.FORBIDDEN, 'this token may not remove servers (its claim has no "admin")');
      requireVisible(permissions, req.params.id);
      const removed = await removal.delete(req.params.id, permissions.subject);
      if (!removed) throw notFound(req.params.id);
      return removed;
    },
  );
}
