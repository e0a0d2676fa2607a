// Serves the dashboard's static build at `/`. Vite names assets by content hash, so they are
// cached for good; index.html never is, so a new build is picked up at once. These routes are
// files for a browser, not the API: /api/openapi.json leaves them out (schema.hide).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { NAMESPACE } from '@vigil/protocol';
import { OPENAPI_PATH } from './openapi.js';

/** Where the dashboard build sits in this repository (from src/ or dist/ alike). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

export async function dashboardRoutes(app: FastifyInstance, { dir }: { dir: string | false }): Promise<void> {
  if (dir === false || !existsSync(`${dir}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async () => ({
      name: 'vigil gateway',
      dashboard: dir === false ? 'disabled' : 'not built: run `npm run build`',
      socket: { namespace: NAMESPACE, path: '/socket.io/' },
      api: OPENAPI_PATH,
    }));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // Files are looked up per request, so a dashboard rebuilt while the gateway runs is served.
    wildcard: true,
    schemaHide: true,
    index: ['index.html'],
    cacheControl: false, // set below, per file
    setHeaders(res, path) {
      res.setHeader('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
}
