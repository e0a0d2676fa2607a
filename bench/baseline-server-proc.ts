// The baseline gateway: a bare Socket.IO server on the sharded Redis adapter (dynamic subscriptions),
// nothing else. Clients join a room with the same event vigil uses, so one client script drives both.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { ClientEvents, NAMESPACE, metricsRoom } from '@vigil/protocol';
import { onParentMessage, tellParent } from './lib/children.js';

let close: (() => Promise<void>) | null = null;

onParentMessage(
  async (m) => {
    if (m.type !== 'start') return;
    const url = String(m.redisUrl);
    const pub = new Redis(url);
    const sub = new Redis(url);
    const http = createServer();
    const io = new Server(http, { serveClient: false, perMessageDeflate: false, httpCompression: false });
    io.adapter(createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' }));
    io.of(NAMESPACE).on('connection', (socket) => {
      socket.on(ClientEvents.subscribeServerMetrics, async (p: { serverId?: unknown }, ack?: (r: unknown) => void) => {
        if (typeof p?.serverId !== 'string') return ack?.({ ok: false });
        await socket.join(metricsRoom(p.serverId));
        ack?.({ ok: true });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    close = async () => {
      await new Promise<void>((resolve) => io.close(() => resolve()));
      pub.disconnect();
      sub.disconnect();
    };
    tellParent({ type: 'listening', port: (http.address() as AddressInfo).port });
  },
  async () => {
    await close?.();
  },
);
tellParent({ type: 'ready' });
