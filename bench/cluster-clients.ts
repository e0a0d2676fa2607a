// Dashboard stand-ins for bench/cluster.ts, in their own process: socket.io-client sockets (websocket
// transport, one engine connection each), each subscribed to one server room. Unlike clients-proc.ts it
// keeps per-client figures: how many samples each client received in the parent's window (so the parent
// can check that EVERY client got EVERY sample) and, for the failover test, when each client received
// its first sample published after the kill.
// Modes: 'once' = subscribe once, no reconnection (capacity ramp);
//        'resubscribe' = reconnection on, re-sends its subscription on every 'connect';
//        'seed' = reconnection on, subscribes only on the first 'connect' (gets its room back from the
//        gateway's session restore, which finds the session by the `pid` socket.io-client sends back).
import { io as connect, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ClientEvents, NAMESPACE, ServerEvents } from '@vigil/protocol';
import { fromAddress } from '../scripts/lib/lb.mjs';
import { benchToken } from './lib/auth.js';
import { monoNow, onParentMessage, tellParent } from './lib/children.js';
import { Histogram } from './lib/histogram.js';

// serverId null: an idle connection (no subscription). address: the loopback address it comes from
// (per-address limits, sticky balancers).
type Assignment = { url: string; serverId: string | null; address?: string };
type Mode = 'once' | 'resubscribe' | 'seed';

/** Every socket's handshake carries it (socket.io-client adds its own `pid`/`offset` beside it on a restore). */
const token = await benchToken();
const sockets: Socket[] = [];
const counts: number[] = [];
const firstAfterKill: Array<number | null> = [];
const reconnectAfterKill: Array<number | null> = [];
const histogram = new Histogram();
let from = Infinity;
let to = -Infinity;
let killAt = Infinity;
let disconnects = 0;
let reconnects = 0;
let resubscribeFailures = 0;

async function open(a: Assignment, mode: Mode): Promise<boolean> {
  const i = sockets.length;
  counts.push(0);
  firstAfterKill.push(null);
  reconnectAfterKill.push(null);
  const socket = connect(`${a.url}${NAMESPACE}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: mode !== 'once',
    timeout: 20_000,
    auth: { token },
    ...fromAddress(a.address),
  } as Partial<ManagerOptions & SocketOptions>);
  sockets.push(socket);
  socket.on(ServerEvents.processInfo, (payload: { sentAt?: unknown }) => {
    const now = monoNow();
    const sentAt = payload?.sentAt;
    if (typeof sentAt !== 'number') return;
    if (sentAt >= from && sentAt < to) {
      counts[i]!++;
      histogram.record(now - sentAt);
    }
    if (sentAt >= killAt && firstAfterKill[i] === null) firstAfterKill[i] = now - killAt;
  });
  socket.on('disconnect', () => disconnects++);
  let first = true;
  const subscribe = async () => {
    if (a.serverId === null) return;
    const ack = (await socket.timeout(20_000).emitWithAck(ClientEvents.subscribeServerMetrics, { serverId: a.serverId })) as { ok?: boolean };
    if (!ack?.ok) throw new Error(`subscribe ${a.serverId} refused: ${JSON.stringify(ack)}`);
  };
  socket.on('connect', () => {
    if (first) return;
    reconnects++;
    const now = monoNow();
    if (now >= killAt && reconnectAfterKill[i] === null) reconnectAfterKill[i] = now - killAt;
    if (mode === 'resubscribe') subscribe().catch(() => resubscribeFailures++);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      if (mode === 'once') reject(err);
    });
    setTimeout(() => reject(new Error('connect timeout 30 s')), 30_000).unref();
  });
  first = false;
  await subscribe();
  return true;
}

async function openAll(list: Assignment[], mode: Mode) {
  let subscribed = 0;
  let failed = 0;
  let firstError: string | null = null;
  const t0 = monoNow();
  for (let i = 0; i < list.length; i += 50) {
    const results = await Promise.allSettled(list.slice(i, i + 50).map((a) => open(a, mode)));
    for (const r of results) {
      if (r.status === 'fulfilled') subscribed++;
      else {
        failed++;
        firstError ??= (r.reason as Error).message;
      }
    }
  }
  return { subscribed, failed, firstError, ms: Math.round(monoNow() - t0) };
}

onParentMessage(
  async (m) => {
    switch (m.type) {
      case 'connect':
        tellParent({ type: 'connected', ...(await openAll(m.clients as Assignment[], m.mode as Mode)) });
        break;
      case 'measure':
        histogram.reset();
        counts.fill(0);
        from = Number(m.from);
        to = Number(m.to);
        break;
      case 'report':
        tellParent({
          type: 'report',
          counts,
          histogram: histogram.toSparse(),
          connectedNow: sockets.filter((s) => s.connected).length,
          disconnects,
        });
        break;
      case 'watch':
        killAt = Number(m.killAt);
        firstAfterKill.fill(null);
        reconnectAfterKill.fill(null);
        break;
      case 'failover':
        tellParent({
          type: 'failover',
          firstAfterKill,
          reconnectAfterKill,
          connectedNow: sockets.filter((s) => s.connected).length,
          disconnects,
          reconnects,
          resubscribeFailures,
        });
        break;
    }
  },
  async () => {
    for (const s of sockets) s.disconnect();
  },
);
tellParent({ type: 'ready' });
