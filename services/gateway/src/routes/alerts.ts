// REST view of alerts: `GET /api/alerts?state=firing|all`, newest first, paged with a cursor, to a
// bearer token, filtered to the servers that token may see.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AlertEvent, Position, comparePositions } from '@vigil/protocol';
import type { AlertStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { requestPermissions, requireBearer } from '../auth/rest-auth.js';

type AlertRoutesOptions = { alerts: AlertStore; verifier: Verifier; logger: Logger };

const AlertsQuery = Type.Object(
  {
    /** `firing`: what fires now (default); `all`: every firing and resolution in the alerts stream. */
    state: Type.Union([Type.Literal('firing'), Type.Literal('all')], { default: 'firing' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    /** The `next` of the previous page: alerts older than that position. */
    before: Type.Optional(Position),
  },
  { additionalProperties: false },
);

const AlertsPage = Type.Object({
  alerts: Type.Array(AlertEvent),
  /** Pass as `before` for the next page; null when there is none. */
  next: Type.Union([Position, Type.Null()]),
});

export async function alertRoutes(app: FastifyInstance, { alerts, verifier, logger }: AlertRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);

  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/alerts',
    { schema: { querystring: AlertsQuery, response: { 200: AlertsPage } } },
    async (req): Promise<Static<typeof AlertsPage>> => {
      const permissions = requestPermissions(req);
      const visible = (a: AlertEvent) => permissions.canSee(a.serverId);
      const { state, limit, before } = req.query;
      if (state === 'all') return alerts.history(before === undefined ? { limit } : { limit, before }, visible);
      const firing = await alerts.firing((a) => visible(a) && (before === undefined || comparePositions(a.position, before) < 0));
      const page = firing.slice(0, limit);
      return { alerts: page, next: firing.length > limit ? page[page.length - 1]!.position : null };
    },
  );
}
