// Dashboard stand-ins in their own process: socket.io-client sockets (websocket transport, one engine
// connection each) subscribed to one server room each. Every `process:info` whose `sentAt` falls in
// the parent's measuring window is counted and its latency (receive − sentAt, shared monotonic clock)
// goes into a histogram that the parent collects. Separately, everything received while the window is
// open is counted: that is the delivery rate, which stays below the offered rate when a stack saturates.
import { io as connect, type Socket } from 'socket.io-client';
import { ClientEvents, NAMESPACE, ServerEvents } from '@vigil/protocol';
import { benchToken } from './lib/auth.js';
import { monoNow, onParentMessage, tellParent } from './lib/children.js';
import { Histogram } from './lib/histogram.js';

type Assignment = { url: string; serverId: string };

/** Every socket's handshake carries it (socket.io-client adds its own `pid`/`offset` beside it on a restore). */
const token = await benchToken();
const sockets: Socket[] = [];
const histogram = new Histogram();
let from = Infinity;
let to = -Infinity;
let inWindow = 0;
/** Received while the window was open, whenever it was sent. */
let receivedDuring = 0;
let received = 0;
let disconnects = 0;

function onSample(payload: { sentAt?: unknown }): void {
  const now = monoNow();
  received++;
  if (now >= from && now < to) receivedDuring++;
  const sentAt = payload?.sentAt;
  if (typeof sentAt !== 'number' || sentAt < from || sentAt >= to) return;
  inWindow++;
  histogram.record(now - sentAt);
}

async function open(a: Assignment): Promise<void> {
  const socket = connect(`${a.url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000, auth: { token } });
  sockets.push(socket);
  socket.on(ServerEvents.processInfo, onSample);
  socket.on('disconnect', () => disconnects++);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  const ack = (await socket.timeout(20_000).emitWithAck(ClientEvents.subscribeServerMetrics, { serverId: a.serverId })) as { ok?: boolean };
  if (!ack?.ok) throw new Error(`subscribe ${a.serverId} refused: ${JSON.stringify(ack)}`);
}

async function openAll(list: Assignment[]): Promise<{ connected: number; failed: number; firstError: string | null }> {
  let connected = 0;
  let failed = 0;
  let firstError: string | null = null;
  // A few dozen handshakes at a time: a thousand at once would time out on a small machine.
  for (let i = 0; i < list.length; i += 50) {
    const results = await Promise.allSettled(list.slice(i, i + 50).map(open));
    for (const r of results) {
      if (r.status === 'fulfilled') connected++;
      else {
        failed++;
        firstError ??= (r.reason as Error).message;
      }
    }
  }
  return { connected, failed, firstError };
}

onParentMessage(
  async (m) => {
    switch (m.type) {
      case 'connect':
        tellParent({ type: 'connected', ...(await openAll(m.clients as Assignment[])) });
        break;
      case 'measure':
        histogram.reset();
        inWindow = 0;
        receivedDuring = 0;
        from = Number(m.from);
        to = Number(m.to);
        break;
      case 'count':
        tellParent({ type: 'count', inWindow, received, disconnects });
        break;
      case 'report':
        tellParent({ type: 'report', histogram: histogram.toSparse(), inWindow, receivedDuring, received, disconnects });
        from = Infinity;
        to = -Infinity;
        break;
    }
  },
  async () => {
    for (const s of sockets) s.disconnect();
  },
);
tellParent({ type: 'ready' });
