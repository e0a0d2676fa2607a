// The `/monitoring` namespace. Data reaches rooms from collectors through the Redis adapter;
// this module wires each client's handlers: subscriptions (metrics-, log-subscriptions.ts),
// unsubscribe by room, connection status and ping.
import type { Namespace, Socket } from 'socket.io';
import {
  ClientEvents,
  ErrorCodes,
  NoPayload,
  Ping,
  ServerEvents,
  Unsubscribe,
  VigilError,
  compile,
  errorAck,
  logsRoom,
  parseRoom,
} from '@vigil/protocol';
import { ClientSession } from './client-session.js';
import { registerLogSubscriptions } from './log-subscriptions.js';
import { heldLogRooms, logicalRooms } from './client-rooms.js';
import { registerMetricsSubscriptions } from './metrics-subscriptions.js';
import { sessionIdOf, socketContext, type MonitoringDeps, type SocketContext } from './socket-context.js';
import { subscribeLogs } from './log-subscriptions.js';
import { subscribeMetrics } from './metrics-subscriptions.js';
import type { RestoredSession } from './sessions.js';

export type { MonitoringDeps } from './socket-context.js';

const unsubscribeV = compile(Unsubscribe);
const KNOWN_EVENTS = new Set<string>(Object.values(ClientEvents));
const noneV = compile(NoPayload);
const pingV = compile(Ping);

export function registerMonitoring(nsp: Namespace, deps: MonitoringDeps): void {
  nsp.on('connection', (socket) => onConnection(socket, deps));
}

function onConnection(socket: Socket, deps: MonitoringDeps): void {
  const session = new ClientSession(Date.now(), deps.limits);
  const log = deps.logger.child({ clientId: socket.id });
  log.debug('client connected');
  socket.on('disconnect', (reason) => {
    log.debug({ reason }, 'client disconnected');
    const id = sessionIdOf(socket);
    if (!id || !deps.sessions) return;
    // A client that said goodbye will not be back for its rooms; anyone else may be.
    if (reason === 'client namespace disconnect') deps.sessions.forget(id);
    else deps.sessions.left(id);
  });
  const ctx = socketContext(socket, session, log, deps);
  const leave = (room: string) => leaveRoom(ctx, room);

  registerMetricsSubscriptions(ctx, leave);
  registerLogSubscriptions(ctx, leave);

  // Events outside the protocol: answer an ack so a client waiting on one is not left hanging.
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    const ack = args[args.length - 1];
    if (typeof ack === 'function') {
      ack(errorAck(ErrorCodes.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event).slice(0, 64))}`));
      deps.onReject?.(ErrorCodes.UNKNOWN_EVENT);
    }
  });

  ctx.on(ClientEvents.unsubscribe, unsubscribeV, async (p) => {
    if (!parseRoom(p.room)) throw new VigilError(ErrorCodes.UNKNOWN_ROOM, `not a vigil room: ${JSON.stringify(p.room.slice(0, 80))}`);
    return leave(p.room);
  });

  ctx.on(ClientEvents.getConnectionStatus, noneV, () => {
    const status = {
      clientId: socket.id,
      connectedAt: session.connectedAt,
      subscribedRooms: logicalRooms(socket),
      lastActivity: session.lastActivity,
      timestamp: new Date().toISOString(),
    };
    socket.emit(ServerEvents.connectionStatus, status);
    return status;
  });

  ctx.on(ClientEvents.ping, pingV, (p) => {
    const pong = { timestamp: new Date().toISOString(), ...(p && p.timestamp !== undefined ? { echo: p.timestamp } : {}) };
    socket.emit(ServerEvents.pong, pong);
    return pong;
  });

  socket.emit(ServerEvents.connectionEstablished, { clientId: socket.id, timestamp: session.connectedAt });
  const restored = socket.data.vigilRestore as RestoredSession | undefined;
  if (restored) void restoreSession(ctx, restored);
}

/** Gives a reconnected client its rooms back, with the log lines it missed, as if it had re-subscribed. */
async function restoreSession(ctx: SocketContext, restored: RestoredSession): Promise<void> {
  let rooms = 0;
  for (const room of restored.rooms) {
    try {
      if (room.kind === 'metrics') await subscribeMetrics(ctx, { serverId: room.serverId }, true);
      else await subscribeLogs(ctx, { serverId: room.serverId, level: room.level, since: restored.resumeFrom }, true);
      rooms++;
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, serverId: room.serverId }, 'a room could not be restored');
    }
  }
  ctx.saveSession();
  ctx.log.info({ rooms, resumeFrom: restored.resumeFrom }, 'session restored');
}

/** Leaves a room as the client named it; a log room means every level room of that server. */
async function leaveRoom(ctx: SocketContext, room: string): Promise<Record<string, unknown>> {
  const { socket } = ctx;
  const parsed = parseRoom(room);
  let rooms = [room];
  let named = room;
  if (parsed?.kind === 'logs') {
    rooms = heldLogRooms(socket, parsed.serverId);
    named = logsRoom(parsed.serverId);
  }
  const wasSubscribed = rooms.some((r) => socket.rooms.has(r));
  for (const r of rooms) await socket.leave(r);
  ctx.saveSession();
  const confirmation = { room: named, timestamp: new Date().toISOString() };
  socket.emit(ServerEvents.unsubscriptionConfirmed, confirmation);
  return { ...confirmation, wasSubscribed };
}
