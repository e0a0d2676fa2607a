// Dashboard clients for the capacity benchmark, many in one process: socket.io-client sockets
// (websocket transport, one connection each, a real token) that each subscribe to a few servers'
// metrics at connect and, when the parent says so, to the fleet summary (`subscribe-fleet`, with
// the client's own filter or none: the whole fleet). What arrives is counted, never kept: samples,
// fleet messages and rows, and the bytes of every Socket.IO message (engine `data`).
// Messages: `connect { clients }` → `connected { connected, failed, firstError }`;
// `fleet { indexes, whole }` → `fleeted { ok, failed, firstError }`; `count` → `count { … }`; `stop`.
import { io as connect, type Socket } from 'socket.io-client';
import { ClientEvents, NAMESPACE, ServerEvents, type FleetFilter } from '@vigil/protocol';
import { benchToken } from './lib/auth.js';
import { onParentMessage, tellParent } from './lib/children.js';

export type CapacityClient = { url: string; metrics: string[]; filter: FleetFilter };

/** Handshakes or subscribes in flight at once: a thousand at once would time out on a small machine. */
const CONCURRENCY = 50;
const ACK_TIMEOUT_MS = 30_000;

const token = await benchToken();
const specs: CapacityClient[] = [];
const sockets: Array<Socket | null> = [];
const counts = { samples: 0, fleetMessages: 0, fleetRows: 0, snapshotRows: 0, bytes: 0, disconnects: 0 };

function onFleet(update: { snapshot?: boolean; rows?: unknown[] }): void {
  counts.fleetMessages++;
  const rows = Array.isArray(update?.rows) ? update.rows.length : 0;
  if (update?.snapshot) counts.snapshotRows += rows;
  else counts.fleetRows += rows;
}

async function open(spec: CapacityClient): Promise<Socket> {
  const socket: Socket = connect(`${spec.url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000, auth: { token } });
  socket.on(ServerEvents.processInfo, () => counts.samples++);
  socket.on(ServerEvents.fleetUpdate, onFleet);
  socket.on('disconnect', () => counts.disconnects++);
  socket.io.on('open', () => {
    socket.io.engine.on('data', (d: string | ArrayBuffer) => (counts.bytes += typeof d === 'string' ? d.length : d.byteLength));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.disconnect();
      reject(err);
    });
  });
  try {
    for (const serverId of spec.metrics) {
      const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(ClientEvents.subscribeServerMetrics, { serverId })) as { ok?: boolean };
      if (!ack?.ok) throw new Error(`subscribe ${serverId} refused: ${JSON.stringify(ack)}`);
    }
  } catch (err) {
    socket.disconnect();
    throw err;
  }
  return socket;
}

/** Runs `work` over `items` CONCURRENCY at a time; counts what failed and keeps the first error. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<{ ok: number; failed: number; firstError: string | null }> {
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    for (const r of await Promise.allSettled(items.slice(i, i + CONCURRENCY).map(work))) {
      if (r.status === 'fulfilled') ok++;
      else {
        failed++;
        firstError ??= (r.reason as Error).message;
      }
    }
  }
  return { ok, failed, firstError };
}

async function subscribeFleet(index: number, whole: boolean): Promise<void> {
  const socket = sockets[index];
  if (!socket) throw new Error(`client ${index} is not connected`);
  const ack = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(ClientEvents.subscribeFleet, whole ? {} : { filter: specs[index]!.filter })) as { ok?: boolean };
  if (!ack?.ok) throw new Error(`subscribe-fleet refused: ${JSON.stringify(ack)}`);
}

onParentMessage(
  async (m) => {
    if (m.type === 'connect') {
      const list = m.clients as CapacityClient[];
      const base = specs.length;
      specs.push(...list);
      const r = await inBatches(
        list.map((spec, k) => ({ spec, at: base + k })),
        async ({ spec, at }) => {
          sockets[at] = null;
          sockets[at] = await open(spec);
        },
      );
      tellParent({ type: 'connected', connected: r.ok, failed: r.failed, firstError: r.firstError });
    } else if (m.type === 'fleet') {
      const r = await inBatches(m.indexes as number[], (i) => subscribeFleet(i, m.whole === true));
      tellParent({ type: 'fleeted', ...r });
    } else if (m.type === 'count') {
      tellParent({ type: 'count', ...counts });
    }
  },
  async () => {
    for (const s of sockets) s?.disconnect();
  },
);
tellParent({ type: 'ready' });
