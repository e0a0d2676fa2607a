// REST view of host metrics: the host registry, one host, and a host's paged history, to a bearer
// token, about the hosts that token may see (its `hosts` globs, or admin); the others answer as
// hosts that do not exist. Written as routes/servers.ts says.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  DEFAULT_PAGE_LIMIT,
  ErrorCodes,
  HostDetail,
  HostList,
  HostMetricsPage,
  HostParams,
  MetricsQuery,
  VigilError,
  type Permissions,
} from '@vigil/protocol';
import type { HostStore } from '@vigil/store';
import type { Logger } from 'pino';
import type { Verifier } from '../auth/verifier.js';
import { requestPermissions, requireBearer } from '../auth/rest-auth.js';
import { errorResponses } from '../http-errors.js';
import { requireOneDirection } from './servers.js';

type HostRoutesOptions = { hosts: HostStore; verifier: Verifier; logger: Logger };

const tags = ['hosts'];
const badRequest = { 400: 'a malformed host name (VIGIL_ERR_INVALID_PARAMS) or query (VIGIL_ERR_INVALID_QUERY)' };
const noHost = { 404: 'no host of that name that this token may see (VIGIL_ERR_HOST_NOT_FOUND)' };

/** Who may not see a host is told it does not exist: the same code and message as a missing one. */
function hostNotFound(host: string): VigilError {
  return new VigilError(ErrorCodes.HOST_NOT_FOUND, `no host "${host}" has been sampled`);
}

function requireHost(permissions: Permissions, host: string): void {
  if (!permissions.canSeeHost(host)) throw hostNotFound(host);
}

export async function hostRoutes(app: FastifyInstance, { hosts, verifier, logger }: HostRoutesOptions): Promise<void> {
  requireBearer(app, verifier, logger);
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get('/api/hosts', { schema: { tags, summary: 'the hosts this token may see', response: { 200: HostList } } }, async (req) => {
    const permissions = requestPermissions(req);
    return { hosts: (await hosts.list()).filter((h) => permissions.canSeeHost(h.host)) };
  });

  api.get(
    '/api/hosts/:host',
    { schema: { tags, summary: 'one host and its latest sample', params: HostParams, response: { 200: HostDetail, ...errorResponses({ ...badRequest, ...noHost }) } } },
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
  api.get(
    '/api/hosts/:host/metrics',
    {
      schema: {
        tags,
        summary: "a page of a host's samples",
        params: HostParams,
        querystring: MetricsQuery,
        response: { 200: HostMetricsPage, ...errorResponses({ ...badRequest, ...noHost }) },
      },
    },
    async (req) => {
      const { host } = req.params;
      requireHost(requestPermissions(req), host);
      const { limit = DEFAULT_PAGE_LIMIT, before, after } = req.query;
      requireOneDirection(before, after);
      if (!(await hosts.known(host))) throw hostNotFound(host);
      const page = await hosts.metrics(host, { limit, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
      return { host, ...page };
    },
  );
}
