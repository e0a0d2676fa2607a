// The `/monitoring` namespace and the `/ws` endpoint. Data reaches rooms from collectors through
// the Redis adapter; this module wires each client's handlers, whatever its transport (client.ts):
// subscriptions (metrics-, log-, system-metrics-, alert-, fleet-subscriptions.ts), unsubscribe by room, connection status and
// ping, and hands the client to its session.
import type { Namespace } from 'socket.io';
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
  parseSystemMetricsRoom,
  type ReplyOf,
} from '@vigil/protocol';
import { ClientActivity } from './client-activity.js';
import { registerLogSubscriptions } from './log-subscriptions.js';
import { heldLogRooms, logicalRooms } from './client-rooms.js';
import { registerMetricsSubscriptions } from './metrics-subscriptions.js';
import { leaveAlerts, registerAlertSubscriptions } from './alert-subscriptions.js';
import { socketContext, type MonitoringDeps, type SocketContext } from './socket-context.js';
import { registerTokenLifecycle } from './auth/socket-token.js';
import { registerSystemMetricsSubscriptions } from './system-metrics-subscriptions.js';
import { registerFleetSubscriptions } from './fleet-events.js';
import type { Client } from './client.js';
import { clientOf } from './socketio-client.js';

const unsubscribeV = compile(Unsubscribe);
const noneV = compile(NoPayload);
const pingV = compile(Ping);

export function registerMonitoring(nsp: Namespace, deps: MonitoringDeps): void {
  nsp.on('connection', (socket) => serveClient(clientOf(socket), deps));
}

/** Serves one connected client of either transport until it goes. */
export function serveClient(client: Client, deps: MonitoringDeps, activity = new ClientActivity(Date.now(), { perSecond: deps.limits.perSecond, burst: deps.limits.burst })): void {
  const log = deps.logger.child({ clientId: client.id, ...(client.transport === 'ws' ? { transport: 'ws' } : {}) });
  log.debug('client connected');
  client.onClose((reason) => log.debug({ reason }, 'client disconnected'));
  const ctx = socketContext(client, activity, log, deps);
  const leave = (room: string) => leaveRoom(ctx, room);

  registerMetricsSubscriptions(ctx, leave);
  registerLogSubscriptions(ctx, leave);
  registerSystemMetricsSubscriptions(ctx, leave);
  registerAlertSubscriptions(ctx);
  if (deps.fleet) registerFleetSubscriptions(ctx, deps.fleet);
  registerTokenLifecycle(ctx, leave, deps.auth);

  // Events outside the protocol: answer an ack so a client waiting on one is not left hanging.
  // They spend the client's event budget like any other: a flood of them is a flood.
  client.onUnknown((event, ack) => {
    const admitted = activity.admit(Date.now());
    if (!ack) return;
    const refusal = admitted
      ? errorAck(ErrorCodes.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event).slice(0, 64))}`)
      : errorAck(ErrorCodes.RATE_LIMITED, 'too many events; slow down');
    ack(refusal);
    deps.onReject?.(refusal.error.code);
  });

  ctx.on(ClientEvents.unsubscribe, unsubscribeV, async (p) => {
    const alerts = parseAlertRoom(p.room);
    if (alerts && alerts.severity === undefined) return leaveAlerts(ctx, alerts.serverId);
    if (!parseRoom(p.room) && parseSystemMetricsRoom(p.room) === null) throw new VigilError(ErrorCodes.UNKNOWN_ROOM, `not a vigil room: ${JSON.stringify(p.room.slice(0, 80))}`);
    return leave(p.room);
  });

  ctx.on(ClientEvents.getConnectionStatus, noneV, () => {
    const status: ReplyOf<'get-connection-status'> = {
      clientId: client.id,
      connectedAt: activity.connectedAt,
      subscribedRooms: logicalRooms(client),
      lastActivity: activity.lastActivity,
      timestamp: new Date().toISOString(),
    };
    client.emit(ServerEvents.connectionStatus, status);
    return status;
  });

  ctx.on(ClientEvents.ping, pingV, (p) => {
    const pong: ReplyOf<'ping'> = { timestamp: new Date().toISOString(), ...(p && p.timestamp !== undefined ? { echo: p.timestamp } : {}) };
    client.emit(ServerEvents.pong, pong);
    return pong;
  });

  client.emit(ServerEvents.connectionEstablished, { clientId: client.id, timestamp: activity.connectedAt });
  deps.sessions.connected(ctx);
}

/** Leaves a room as the client named it; a log room means every level room of that server. */
async function leaveRoom(ctx: SocketContext, room: string): Promise<ReplyOf<'unsubscribe'>> {
  const { client } = ctx;
  const parsed = parseRoom(room);
  let rooms = [room];
  let named = room;
  if (parsed?.kind === 'logs') {
    rooms = heldLogRooms(client, parsed.serverId);
    named = logsRoom(parsed.serverId);
  }
  const wasSubscribed = rooms.some((r) => client.rooms.has(r));
  if (parsed) ctx.deps.sessions.withdraw(client, parsed.kind, parsed.serverId);
  for (const r of rooms) await client.leave(r);
  ctx.saveSession();
  const confirmation = { room: named, timestamp: new Date().toISOString() };
  client.emit(ServerEvents.unsubscriptionConfirmed, confirmation);
  return { ...confirmation, wasSubscribed };
}
