// REST view of the registry and history: what any gateway can answer from Redis alone, to a
// bearer token, about the servers that token may see (the others do not exist, as far as it knows).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_LOG_LEVEL, ErrorCodes, LogLevel, Position, ServerId, VigilError } from '@vigil/protocol';
import type { LogStore, ServerStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { notFound, requestPermissions, requireBearer, requireLogs, requireVisible } from '../auth/rest-auth.js';

type ServerRoutesOptions = { store: ServerStore; logs: LogStore; verifier: Verifier; logger: Logger };

const Params = Type.Object({ id: ServerId });
const PageLimit = Type.Integer({ minimum: 1, maximum: 1000, default: 100 });
const HistoryQuery = Type.Object(
  {
    limit: PageLimit,
    before: Type.Optional(Position),
    after: Type.Optional(Position),
  },
  { additionalProperties: false },
);

const LogQuery = Type.Object(
  {
    limit: PageLimit,
    level: Type.Optional(LogLevel),
    since: Type.Optional(Position),
    before: Type.Optional(Position),
  },
  { additionalProperties: false },
);

export async function serverRoutes(app: FastifyInstance, { store, logs, verifier, logger }: ServerRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);

  app.get('/api/servers', async (req) => {
    const permissions = requestPermissions(req);
    return { servers: (await store.list()).filter((s) => permissions.canSee(s.serverId)) };
  });

  app.get<{ Params: Static<typeof Params> }>('/api/servers/:id', { schema: { params: Params } }, async (req) => {
    requireVisible(requestPermissions(req), req.params.id);
    const server = await store.get(req.params.id);
    if (!server) throw notFound(req.params.id);
    return server;
  });

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof HistoryQuery> }>(
    '/api/servers/:id/metrics',
    { schema: { params: Params, querystring: HistoryQuery } },
    async (req) => {
      requireVisible(requestPermissions(req), req.params.id);
      const { limit, before, after } = req.query;
      if (before !== undefined && after !== undefined) {
        throw new VigilError(ErrorCodes.INVALID_QUERY, 'give either "before" or "after", not both');
      }
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
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof LogQuery> }>(
    '/api/servers/:id/logs',
    { schema: { params: Params, querystring: LogQuery } },
    async (req) => {
      requireLogs(requestPermissions(req), req.params.id);
      const { limit, since, before } = req.query;
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
