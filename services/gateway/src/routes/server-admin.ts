// Administering servers over REST: `DELETE /api/servers/:id` removes a server with all its keys
// at once and tells its watchers (`server-removed`). Only a token whose claim says `admin` may:
// any other gets 403, whatever the server; an admin gets 404 for a server it cannot see or that
// does not exist.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { ErrorCodes, ServerIdParams, ServerRemoved, VigilError } from '@vigil/protocol';
import type { Verifier } from '../auth/verifier.js';
import { notFound, requestPermissions, requireBearer, requireVisible } from '../auth/rest-auth.js';
import type { ServerRemoval } from '../server-removal.js';
import { errorResponses } from '../http-errors.js';

type ServerAdminOptions = { removal: ServerRemoval; verifier: Verifier; logger: Logger };


export async function serverAdminRoutes(app: FastifyInstance, { removal, verifier, logger }: ServerAdminOptions): Promise<void> {
  requireBearer(app, verifier, logger);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.delete(
    '/api/servers/:id',
    {
      schema: {
        tags: ['servers'],
        summary: 'remove a server with everything stored for it (admin)',
        params: ServerIdParams,
        response: {
          200: ServerRemoved,
          ...errorResponses({
            400: 'a malformed server id (VIGIL_ERR_INVALID_PARAMS)',
            403: 'the token is not an admin (VIGIL_ERR_FORBIDDEN), or a foreign origin',
            404: 'no server of that id that this token may see (VIGIL_ERR_SERVER_NOT_FOUND)',
          }),
        },
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
