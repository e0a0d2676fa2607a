// REST view of alerts: `GET /api/alerts?state=firing|all`, newest first, paged with a cursor, to a
// bearer token, filtered to the servers that token may see. Written as routes/servers.ts says.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AlertsPage, AlertsQuery, DEFAULT_PAGE_LIMIT, comparePositions, type AlertEvent } from '@vigil/protocol';
import type { AlertStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { requestPermissions, requireBearer } from '../auth/rest-auth.js';
import { errorResponses } from '../http-errors.js';

type AlertRoutesOptions = { alerts: AlertStore; verifier: Verifier; logger: Logger };

const tags = ['alerts'];

export async function alertRoutes(app: FastifyInstance, { alerts, verifier, logger }: AlertRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/api/alerts',
    {
      schema: {
        tags,
        summary: 'alerts firing now, or every firing and resolution, of the servers this token may see',
        querystring: AlertsQuery,
        response: { 200: AlertsPage, ...errorResponses({ 400: 'a malformed query (VIGIL_ERR_INVALID_QUERY)' }) },
      },
    },
    async (req) => {
      const permissions = requestPermissions(req);
      const visible = (a: AlertEvent) => permissions.canSee(a.serverId);
      const { state = 'firing', limit = DEFAULT_PAGE_LIMIT, before } = req.query;
      if (state === 'all') return alerts.history(before === undefined ? { limit } : { limit, before }, visible);
      const firing = await alerts.firing((a) => visible(a) && (before === undefined || comparePositions(a.position, before) < 0));
      const page = firing.slice(0, limit);
      return { alerts: page, next: firing.length > limit ? page[page.length - 1]!.position : null };
    },
  );
}
