// REST view of the registry and history: what any gateway can answer from Redis alone.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, Position, ServerId, VigilError } from '@vigil/protocol';
import type { ServerStore } from '@vigil/store';

const Params = Type.Object({ id: ServerId });
const HistoryQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    before: Type.Optional(Position),
    after: Type.Optional(Position),
  },
  { additionalProperties: false },
);

export async function serverRoutes(app: FastifyInstance, { store }: { store: ServerStore }): Promise<void> {
  app.get('/api/servers', async () => ({ servers: await store.list() }));

  app.get<{ Params: Static<typeof Params> }>('/api/servers/:id', { schema: { params: Params } }, async (req) => {
    const server = await store.get(req.params.id);
    if (!server) throw new VigilError(ErrorCodes.SERVER_NOT_FOUND, `no server "${req.params.id}" is registered`);
    return server;
  });

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof HistoryQuery> }>(
    '/api/servers/:id/metrics',
    { schema: { params: Params, querystring: HistoryQuery } },
    async (req) => {
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
}
