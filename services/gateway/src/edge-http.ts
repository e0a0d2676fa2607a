// The public HTTP edge of REST and the dashboard: a request carrying a foreign Origin is refused
// (403), CORS answers only the public origins, security headers with a CSP the dashboard passes,
// and a rate limit per client address (429). Probes are never limited. Registered before any
// route. REST bearer auth is a hook of the /api routes, after these (a refusal keeps its CORS headers).
// Unknown routes are rate limited like known ones; every route documents the 403 and 429 answered here.
import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import type { PublicOrigins } from './public-origins.js';
import { addRouteResponses, errorResponses, installNotFoundHandler } from './http-errors.js';

export type RestRateLimit = { max: number; windowMs: number };

const PROBES = new Set(['/healthz', '/readyz']);

const isProbe = (url: string) => PROBES.has(url.split('?')[0]!);

export async function installHttpEdge(app: FastifyInstance, { origins, rateLimit: limit }: { origins: PublicOrigins; rateLimit: RestRateLimit | false }): Promise<void> {
  addRouteResponses(app, errorResponses({ 403: 'a browser page from an origin not in VIGIL_PUBLIC_ORIGINS' }));
  app.addHook('onRequest', async (req) => {
    if (!origins.allows(req.headers.origin)) {
      req.log.warn({ code: ErrorCodes.ORIGIN_REFUSED, origin: String(req.headers.origin).slice(0, 200) }, 'request refused: origin not allowed');
      throw new VigilError(ErrorCodes.ORIGIN_REFUSED, 'this origin may not use this gateway; see VIGIL_PUBLIC_ORIGINS');
    }
  });
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origins.allows(origin)),
    // DELETE: an admin's removal of a server (routes/server-admin.ts) from an allowed page.
    methods: ['GET', 'HEAD', 'DELETE'],
    // Bearer tokens travel in Authorization, never in a URL.
    allowedHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        // The dashboard is same-origin files only: its script, its stylesheet, data: favicon,
        // Socket.IO and REST to itself. Inline styles are set through the CSSOM, which CSP allows.
        // No 'unsafe-eval': the client and dashboard check schemas without code generation.
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'font-src': ["'self'"],
        'connect-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        // A gateway on plain http inside a network must not have its assets rewritten to https.
        'upgrade-insecure-requests': null,
      },
    },
  });
  if (limit === false) return installNotFoundHandler(app);
  addRouteResponses(app, errorResponses({ 429: 'more requests than the rate limit per address (VIGIL_REST_RATE_LIMIT)' }), (route) => !isProbe(route.url));
  await app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    // request.ip honours X-Forwarded-For only from trusted proxies (Fastify's trustProxy).
    keyGenerator: (req) => req.ip,
    allowList: (req) => isProbe(req.url),
    errorResponseBuilder: (_req, context) =>
      new VigilError(ErrorCodes.RATE_LIMITED, `at most ${context.max} requests per ${limit.windowMs / 1000} s per address; try again in ${context.after}`),
  });
  installNotFoundHandler(app, { preHandler: app.rateLimit() });
}
