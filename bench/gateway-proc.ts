// A vigil gateway in its own process (so its CPU is its own): buildApp() on a free loopback port,
// verifying tokens signed with the run's secret (lib/auth.ts). Every bench client comes from 127.0.0.1,
// so the per-address caps (meant for one client machine, or one proxy's clients behind trustProxy) are
// raised to what the parent says it will open; every other setting is the product's default.
// The parent sends `start { redisUrl, redisClusterNodes? }` and gets `listening { port }`; `stop` closes the app.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@vigil/gateway';
import { BENCH_AUTH } from './lib/auth.js';
import { onParentMessage, tellParent } from './lib/children.js';

let app: FastifyInstance | null = null;

onParentMessage(
  async (m) => {
    if (m.type !== 'start') return;
    const clients = Math.max(1, Number(m.clients) || 1);
    const redisClusterNodes = typeof m.redisClusterNodes === 'string' ? m.redisClusterNodes : undefined;
    app = await buildApp({ redisUrl: String(m.redisUrl), redisClusterNodes, auth: BENCH_AUTH, maxConnectionsPerAddress: clients, handshakesPerSecond: Math.max(20, clients) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    tellParent({ type: 'listening', port: (app.server.address() as AddressInfo).port });
  },
  async () => {
    await app?.close();
  },
);
tellParent({ type: 'ready' });
