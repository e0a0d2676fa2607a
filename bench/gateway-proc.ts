// A vigil gateway in its own process (so its CPU is its own): buildApp() on a free loopback port,
// verifying tokens signed with the run's secret (lib/auth.ts).
// The parent sends `start { redisUrl }` and gets `listening { port }`; `stop` closes the app.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@vigil/gateway';
import { BENCH_AUTH } from './lib/auth.js';
import { onParentMessage, tellParent } from './lib/children.js';

let app: FastifyInstance | null = null;

onParentMessage(
  async (m) => {
    if (m.type !== 'start') return;
    app = await buildApp({ redisUrl: String(m.redisUrl), auth: BENCH_AUTH });
    await app.listen({ host: '127.0.0.1', port: 0 });
    tellParent({ type: 'listening', port: (app.server.address() as AddressInfo).port });
  },
  async () => {
    await app?.close();
  },
);
tellParent({ type: 'ready' });
