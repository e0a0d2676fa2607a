// The `/monitoring` namespace. Data reaches rooms from collectors through the Redis adapter;
// this module wires each client's handlers: subscriptions (metrics-, log-subscriptions.ts),
// unsubscribe by room, connection status and ping, and hands the client to its session.
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
  parseAlertRoom,
  parseRoom,
  type ReplyOf,
} from '@vigil/protocol';
import { ClientActivity } from './client-activity.js';
import { registerLogSubscriptions } from './log-subscriptions.js';
import { heldLogRooms, logicalRooms } from './client-rooms.js';
import { registerMetricsSubscriptions } from './metrics-subscriptions.js';
import { leaveAlerts, registerAlertSubscriptions } from './alert-subscriptions.js';
import { socketContext, type MonitoringDeps, type SocketContext } from './socket-context.js';
import { registerTokenLifecycle } from './auth/socket-token.js';

const unsubscribeV = compile(Unsubscribe);
const KNOWN_EVENTS = new Set<string>(Object.values(ClientEvents));
const noneV = compile(NoPayload);
const pingV = compile(Ping);

export function registerMonitoring(nsp: Namespace, deps: MonitoringDeps): void {
  nsp.on('connection', (socket) => onConnection(socket, deps));
}

function onConnection(socket: Socket, deps: MonitoringDeps): void {
  const activity = new ClientActivity(Date.now(), { perSecond: deps.limits.perSecond, burst: deps.limits.burst });
  const log = deps.logger.child({ clientId: socket.id });
  log.debug('client connected');
  socket.on('disconnect', (reason) => log.debug({ reason }, 'client disconnected'));
  const ctx = socketContext(socket, activity, log, deps);
  const leave = (room: string) => leaveRoom(ctx, room);

  registerMetricsSubscriptions(ctx, leave);
  registerLogSubscriptions(ctx, leave);
  registerAlertSubscriptions(ctx);
  registerTokenLifecycle(ctx, leave, deps.auth);

  // Events outside the protocol: answer an ack so a client waiting on one is not left hanging.
  // They spend the client's event budget like any other: a flood of them is a flood.
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
    const admitted = activity.admit(Date.now());
    const ack = args[args.length - 1];
    if (typeof ack !== 'function') return;
    const refusal = admitted
      ? errorAck(ErrorCodes.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event).slice(0, 64))}`)
      : errorAck(ErrorCodes.RATE_LIMITED, 'too many events; slow down');
    ack(refusal);
    deps.onReject?.(refusal.error.code);
  });

  ctx.on(ClientEvents.unsubscribe, unsubscribeV, async (p) => {
    const alerts = parseAlertRoom(p.room);
    if (alerts && alerts.severity === undefined) return leaveAlerts(ctx, alerts.serverId);
    if (!parseRoom(p.room)) throw new VigilError(ErrorCodes.UNKNOWN_ROOM, `not a vigil room: ${JSON.stringify(p.room.slice(0, 80))}`);
    return leave(p.room);
  });

  ctx.on(ClientEvents.getConnectionStatus, noneV, () => {
    const status: ReplyOf<'get-connection-status'> = {
      clientId: socket.id,
      connectedAt: activity.connectedAt,
      subscribedRooms: logicalRooms(socket),
      lastActivity: activity.lastActivity,
      timestamp: new Date().toISOString(),
    };
    socket.emit(ServerEvents.connectionStatus, status);
    return status;
  });

  ctx.on(ClientEvents.ping, pingV, (p) => {
    const pong: ReplyOf<'ping'> = { timestamp: new Date().toISOString(), ...(p && p.timestamp !== undefined ? { echo: p.timestamp } : {}) };
    socket.emit(ServerEvents.pong, pong);
    return pong;
  });

  socket.emit(ServerEvents.connectionEstablished, { clientId: socket.id, timestamp: activity.connectedAt });
  deps.sessions.connected(ctx);
}

/** Leaves a room as the client named it; a log room means every level room of that server. */
async function leaveRoom(ctx: SocketContext, room: string): Promise<ReplyOf<'unsubscribe'>> {
  const { socket } = ctx;
  const parsed = parseRoom(room);
  let rooms = [room];
  let named = room;
  if (parsed?.kind === 'logs') {
    rooms = heldLogRooms(socket, parsed.serverId);
    named = logsRoom(parsed.serverId);
  }
  const wasSubscribed = rooms.some((r) => socket.rooms.has(r));
  if (parsed) ctx.deps.sessions.withdraw(socket, parsed.kind, parsed.serverId);
  for (const r of rooms) await socket.leave(r);
  ctx.saveSession();
  const confirmation = { room: named, timestamp: new Date().toISOString() };
  socket.emit(ServerEvents.unsubscriptionConfirmed, confirmation);
  return { ...confirmation, wasSubscribed };
}
