// REST view of the registry and history: what any gateway can answer from Redis alone, to a
// bearer token, about the servers that token may see (the others do not exist, as far as it knows).
//
// How a REST route is written (new ones go in their own file under routes/, registered in app.ts):
// - `app.withTypeProvider<TypeBoxTypeProvider>()`: params, query and the reply are typed from the schema.
// - `requireBearer` first in the plugin: the token check, and the 401 and security requirement in
//   every schema registered after it. Then check the token's permissions in the handler.
// - `schema`: params/querystring and a `response` for every status the handler answers itself:
//   the 2xx payload and `errorResponses({ 404: 'what it means' })`. The edge adds 403/429/500/503.
//   Payload schemas live in libs/protocol/src/schemas.ts (REST section); a response schema
//   serializes, so a field it does not name is dropped. Throw `VigilError` for errors
//   (http-errors.ts gives the status), never send an error body by hand.
// - test/openapi.test.ts fails for a route missing from /api/openapi.json or without a response schema.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  DEFAULT_LOG_LEVEL,
  DEFAULT_PAGE_LIMIT,
  ErrorCodes,
  FLEET_REFRESH_MS,
  LogsPage,
  LogsQuery,
  MetricsPage,
  MetricsQuery,
  ServerIdParams,
  ServerPage,
  ServerView,
  ServersQuery,
  filterOfQuery,
  VigilError,
} from '@vigil/protocol';
import type { LogStore, ServerStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { notFound, requestPermissions, requireBearer, requireLogs, requireVisible } from '../auth/rest-auth.js';
import { errorResponses } from '../http-errors.js';
import type { FleetView } from '../fleet-view.js';
import { fleetPage } from '../fleet-page.js';

type ServerRoutesOptions = { store: ServerStore; logs: LogStore; fleet: FleetView; verifier: Verifier; logger: Logger };

const tags = ['servers'];
const badRequest = { 400: 'a malformed server id (VIGIL_ERR_INVALID_PARAMS) or query (VIGIL_ERR_INVALID_QUERY)' };
const noServer = { 404: 'no server of that id that this token may see (VIGIL_ERR_SERVER_NOT_FOUND)' };

export async function serverRoutes(app: FastifyInstance, { store, logs, fleet, verifier, logger }: ServerRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  // A page of the fleet, from the gateway's fleet view (fleet-view.ts: a read is incremental, and
  // while fleet subscribers keep the view fresh, a page is as of its last read, within a second).
  api.get(
    '/api/servers',
    {
      schema: {
        tags,
        summary: 'the servers this token may see: filtered, sorted, in pages',
        querystring: ServersQuery,
        response: { 200: ServerPage, ...errorResponses({ 400: 'a malformed query or cursor (VIGIL_ERR_INVALID_QUERY)' }) },
      },
    },
    async (req) => {
      const { limit = DEFAULT_PAGE_LIMIT, sort = 'id', order = 'asc', cursor } = req.query;
      const query = { filter: filterOfQuery(req.query), sort, order, limit, cursor };
      await fleet.current(FLEET_REFRESH_MS);
      const page = fleetPage(fleet, requestPermissions(req), query);
      const servers = (await Promise.all(page.ids.map((id) => store.get(id)))).filter((s): s is ServerView => s !== null);
      return { servers, next: page.next, total: page.total };
    },
  );

  api.get(
    '/api/servers/:id',
    { schema: { tags, summary: 'one server', params: ServerIdParams, response: { 200: ServerView, ...errorResponses({ ...badRequest, ...noServer }) } } },
    async (req) => {
      requireVisible(requestPermissions(req), req.params.id);
      const server = await store.get(req.params.id);
      if (!server) throw notFound(req.params.id);
      return server;
    },
  );

  api.get(
    '/api/servers/:id/metrics',
    {
      schema: {
        tags,
        summary: 'metrics history, oldest first, in pages',
        params: ServerIdParams,
        querystring: MetricsQuery,
        response: { 200: MetricsPage, ...errorResponses({ ...badRequest, ...noServer }) },
      },
    },
    async (req) => {
      requireVisible(requestPermissions(req), req.params.id);
      const { limit = DEFAULT_PAGE_LIMIT, before, after } = req.query;
      requireOneDirection(before, after);
      const page = await store.metrics(req.params.id, {
        limit,
        ...(before !== undefined ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
      });
      return { serverId: req.params.id, ...page };
    },
  );

  // Log history. `since`: the lines after that position, oldest first (resume); `before`: the
  // page just older than that position (scroll up); neither: the newest page. `next` continues
  // in the same direction; `gap` says lines after `since` were trimmed away.
  api.get(
    '/api/servers/:id/logs',
    {
      schema: {
        tags,
        summary: 'log history at a level and above, oldest first, in pages',
        params: ServerIdParams,
        querystring: LogsQuery,
        response: {
          200: LogsPage,
          ...errorResponses({ ...badRequest, 403: 'the token may not read logs (VIGIL_ERR_FORBIDDEN)', ...noServer }),
        },
      },
    },
    async (req) => {
      requireLogs(requestPermissions(req), req.params.id);
      const { limit = DEFAULT_PAGE_LIMIT, since, before } = req.query;
      const level = req.query.level ?? DEFAULT_LOG_LEVEL;
      if (since !== undefined && before !== undefined) {
        throw new VigilError(ErrorCodes.INVALID_QUERY, 'give either "since" or "before", not both');
      }
      if (since !== undefined) {
        const [page, gap] = await Promise.all([
          logs.page(req.params.id, { direction: 'forward', after: since, level, limit }),
          logs.gapAfter(req.params.id, since),
        ]);
        return { serverId: req.params.id, level, ...page, gap };
      }
      const page = await logs.page(req.params.id, { direction: 'backward', level, limit, ...(before !== undefined ? { before } : {}) });
      return { serverId: req.params.id, level, ...page };
    },
  );
}

/** A history page goes one way from a position: `before` or `after`, not both (hosts.ts pages the same way). */
export function requireOneDirection(before: string | undefined, after: string | undefined): void {
  if (before !== undefined && after !== undefined) throw new VigilError(ErrorCodes.INVALID_QUERY, 'give either "before" or "after", not both');
}
