// REST view of host metrics: the host registry, one host, and a host's paged history, to a bearer
// token, about the hosts that token may see (its `hosts` globs, or admin); the others answer as
// hosts that do not exist.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, HostId, HostView, Position, SystemMetricsEvent, VigilError, type Permissions } from '@vigil/protocol';
import type { HostStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { requestPermissions, requireBearer } from '../auth/rest-auth.js';

type HostRoutesOptions = { hosts: HostStore; verifier: Verifier; logger: Logger };

const Params = Type.Object({ host: HostId });
const HistoryQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    before: Type.Optional(Position),
    after: Type.Optional(Position),
  },
  { additionalProperties: false },
);
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });
const HostList = Type.Object({ hosts: Type.Array(HostView) });
const HostDetail = Type.Intersect([HostView, Type.Object({ sample: Type.Union([SystemMetricsEvent, Type.Null()]) })]);
const HostHistory = Type.Object({ host: HostId, items: Type.Array(SystemMetricsEvent), next: Type.Union([Position, Type.Null()]) });

/** Who may not see a host is told it does not exist: the same code and message as a missing one. */
function hostNotFound(host: string): VigilError {
  return new VigilError(ErrorCodes.HOST_NOT_FOUND, `no host "${host}" has been sampled`);
}

function requireHost(permissions: Permissions, host: string): void {
  if (!permissions.canSeeHost(host)) throw hostNotFound(host);
}

export async function hostRoutes(app: FastifyInstance, { hosts, verifier, logger }: HostRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);

  app.get('/api/hosts', { schema: { response: { 200: HostList, 401: ErrorBody } } }, async (req) => {
    const permissions = requestPermissions(req);
    return { hosts: (await hosts.list()).filter((h) => permissions.canSeeHost(h.host)) };
  });

  app.get<{ Params: Static<typeof Params> }>(
    '/api/hosts/:host',
    { schema: { params: Params, response: { 200: HostDetail, 404: ErrorBody } } },
    async (req) => {
      const { host } = req.params;
      requireHost(requestPermissions(req), host);
      const [view, sample] = await Promise.all([hosts.get(host), hosts.latest(host)]);
      if (!view) throw hostNotFound(host);
      return { ...view, sample };
    },
  );

  // History, oldest first: `before` pages back in time from a position, `after` resumes forward
  // from one; neither gives the newest page. `next` continues in the same direction.
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof HistoryQuery> }>(
    '/api/hosts/:host/metrics',
    { schema: { params: Params, querystring: HistoryQuery, response: { 200: HostHistory, 404: ErrorBody } } },
    async (req) => {
      const { host } = req.params;
      requireHost(requestPermissions(req), host);
      const { limit, before, after } = req.query;
      if (before !== undefined && after !== undefined) {
        throw new VigilError(ErrorCodes.INVALID_QUERY, 'give either "before" or "after", not both');
      }
      if (!(await hosts.known(host))) throw hostNotFound(host);
      const page = await hosts.metrics(host, { limit, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
      return { host, ...page };
    },
  );
}
