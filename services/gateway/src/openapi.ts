// /api/openapi.json: the OpenAPI 3.1 document of the public app, made by @fastify/swagger from
// the routes' own schemas, so it cannot drift from what is validated and serialized. It needs no
// token (it describes, it holds no data) but passes the edge like any route (headers, rate limit).
// installOpenApi goes before any route (the document and the route table see only routes added
// after it); openApiRoutes with the other routes, after the edge.
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { BEARER_SCHEME } from './auth/rest-auth.js';
import { GATEWAY_VERSION } from './build-info.js';

export const OPENAPI_PATH = '/api/openapi.json';

/** A route the app serves, and whether /api/openapi.json leaves it out (`schema.hide`). */
export type RouteEntry = { method: string; url: string; hidden: boolean };

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after installOpenApi (Fastify's automatic HEAD twins included). */
    routeTable(): readonly RouteEntry[];
  }
}

const OpenApiDocument = Type.Object(
  { openapi: Type.String(), info: Type.Object({ title: Type.String(), version: Type.String() }), paths: Type.Record(Type.String(), Type.Unknown()) },
  { additionalProperties: true, description: 'an OpenAPI 3.1 document' },
);

export async function installOpenApi(app: FastifyInstance): Promise<void> {
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, hidden: route.schema?.hide === true });
  });
  app.decorate('routeTable', () => routes);
  await app.register(swagger, {
    // Shared schemas (the error body) keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vigil gateway',
        version: GATEWAY_VERSION,
        description: 'REST view of the registry and history. Errors are `{ error: { code, message } }` (docs/errors.md).',
      },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a vigil token (`vigil-gateway token`), in `Authorization: Bearer <token>`' },
        },
      },
    },
  });
}

export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  app.get(OPENAPI_PATH, { schema: { summary: 'this document', security: [], response: { 200: OpenApiDocument } } }, async () => app.swagger());
}
