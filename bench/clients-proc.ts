// Dashboard stand-ins in their own process, each subscribed to one server room: socket.io-client sockets
// (websocket transport, one engine connection each), or plain WebSockets on vigil's `/ws` (the `ws`
// package; JSON frames, the token in the upgrade's Authorization header). Every `process:info` whose
// `sentAt` falls in the parent's measuring window is counted and its latency (receive − sentAt, shared
// monotonic clock) goes into a histogram that the parent collects. Separately, everything received while
// the window is open is counted: that is the delivery rate, which stays below the offered rate when a
// stack saturates.
import { io as connect, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { ClientEvents, NAMESPACE, ServerEvents, WS_PATH } from '@vigil/protocol';
import { benchToken } from './lib/auth.js';
import { monoNow, onParentMessage, tellParent } from './lib/children.js';
import { Histogram } from './lib/histogram.js';

export type ClientTransport = 'socket.io' | 'ws';
export type Assignment = { url: string; serverId: string; transport: ClientTransport };

/** Every socket's handshake carries it (socket.io-client adds its own `pid`/`offset` beside it on a restore). */
const token = await benchToken();
const closers: Array<() => void> = [];
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

async function openSocketIo(a: Assignment): Promise<void> {
  const socket: Socket = connect(`${a.url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000, auth: { token } });
  closers.push(() => socket.disconnect());
  socket.on(ServerEvents.processInfo, onSample);
  socket.on('disconnect', () => disconnects++);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  const ack = (await socket.timeout(20_000).emitWithAck(ClientEvents.subscribeServerMetrics, { serverId: a.serverId })) as { ok?: boolean };
  if (!ack?.ok) throw new Error(`subscribe ${a.serverId} refused: ${JSON.stringify(ack)}`);
}

/** The request id of the one subscribe each /ws client sends. */
const SUBSCRIBE_ID = 1;

async function openWs(a: Assignment): Promise<void> {
  const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}${WS_PATH}`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  closers.push(() => ws.close());
  let acked: ((ack: { ok?: boolean }) => void) | null = null;
  ws.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString('utf8')) as { id?: number; event?: string; data?: { sentAt?: unknown }; ack?: { ok?: boolean } };
    if (frame.event === ServerEvents.processInfo) onSample(frame.data ?? {});
    else if (frame.id === SUBSCRIBE_ID && frame.ack) acked?.(frame.ack);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ws open: no answer within 20 s')), 20_000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`ws upgrade refused: HTTP ${res.statusCode}`));
    });
  });
  ws.on('close', () => disconnects++);
  const ack = await new Promise<{ ok?: boolean }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`subscribe ${a.serverId}: no ack within 20 s`)), 20_000);
    acked = (answer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    ws.send(JSON.stringify({ id: SUBSCRIBE_ID, event: ClientEvents.subscribeServerMetrics, data: { serverId: a.serverId } }));
  });
  if (!ack.ok) throw new Error(`subscribe ${a.serverId} refused: ${JSON.stringify(ack)}`);
}

const open = (a: Assignment) => (a.transport === 'ws' ? openWs(a) : openSocketIo(a));

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
    for (const close of closers) close();
  },
);
tellParent({ type: 'ready' });
