// The `/monitoring` namespace: the metrics half of the seed protocol. Data reaches rooms from
// collectors through the Redis adapter; this module only manages subscriptions and sends what a
// (re)subscribing client needs from Redis.
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import {
  ByServer,
  ClientEvents,
  ErrorCodes,
  NoPayload,
  Ping,
  ServerEvents,
  SubscribeServerMetrics,
  Unsubscribe,
  VigilError,
  comparePositions,
  compile,
  isPosition,
  metricsRoom,
  parseRoom,
  DEFAULT_INTERVAL_MS,
  type ProcessInfoEvent,
  type Validator,
} from '@vigil/protocol';
import type { ServerStore } from '@vigil/store';
import { ClientSession } from './client-session.js';
import { handleEvent, type HandlerResult } from './event-handler.js';

const validators = {
  subscribeMetrics: compile(SubscribeServerMetrics),
  byServer: compile(ByServer),
  unsubscribe: compile(Unsubscribe),
  none: compile(NoPayload),
  ping: compile(Ping),
};

export type MonitoringDeps = {
  store: ServerStore;
  logger: Logger;
  limits: { maxRooms: number; perSecond: number; burst: number };
};

export function registerMonitoring(nsp: Namespace, deps: MonitoringDeps): void {
  nsp.on('connection', (socket) => onConnection(socket, deps));
}

function onConnection(socket: Socket, deps: MonitoringDeps): void {
  const { logger, store, limits } = deps;
  const session = new ClientSession(Date.now(), limits);
  const log = logger.child({ clientId: socket.id });
  log.debug('client connected');
  socket.on('disconnect', (reason) => log.debug({ reason }, 'client disconnected'));
  const on = <T extends TSchema>(event: string, v: Validator<T>, h: (p: Static<T>) => Promise<HandlerResult> | HandlerResult) =>
    handleEvent(socket, session, log, event, v, h);

  const subscribedRooms = () => [...socket.rooms].filter((r) => r !== socket.id);

  on(ClientEvents.subscribeServerMetrics, validators.subscribeMetrics, async (p: SubscribeServerMetrics) => {
    const room = metricsRoom(p.serverId);
    if (!socket.rooms.has(room) && subscribedRooms().length >= limits.maxRooms) {
      throw new VigilError(ErrorCodes.TOO_MANY_ROOMS, `a client may hold at most ${limits.maxRooms} rooms`);
    }
    // Between joining and reading the latest sample a live one may arrive; remember the newest
    // delivered so the latest is sent only if it is newer (never a duplicate, never backwards).
    let newest: string | null = null;
    const watch = (event: string, data: Partial<ProcessInfoEvent> | undefined) => {
      if (event === ServerEvents.processInfo && data?.serverId === p.serverId && isPosition(data.position)) {
        if (newest === null || comparePositions(data.position, newest) > 0) newest = data.position;
      }
    };
    socket.onAnyOutgoing(watch);
    let latest: ProcessInfoEvent | null = null;
    let warning: { code: string; message: string } | undefined;
    try {
      await socket.join(room);
      try {
        const view = await store.get(p.serverId);
        latest = view?.latest ?? null;
        if (latest && (newest === null || comparePositions(latest.position, newest) > 0)) {
          socket.emit(ServerEvents.processInfo, latest);
        }
        if (view && view.status !== 'running') {
          socket.emit(ServerEvents.serverStatusChanged, {
            serverId: p.serverId,
            status: view.status,
            timestamp: new Date().toISOString(),
            pid: view.pid,
            position: null,
          });
        }
      } catch (err) {
        warning = { code: ErrorCodes.REDIS_UNAVAILABLE, message: 'subscribed, but the latest sample could not be read now' };
        log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'latest sample unavailable');
      }
    } finally {
      socket.offAnyOutgoing(watch);
    }
    const confirmation = {
      room,
      serverId: p.serverId,
      interval: p.interval ?? DEFAULT_INTERVAL_MS,
      timestamp: new Date().toISOString(),
    };
    socket.emit(ServerEvents.subscriptionConfirmed, confirmation);
    return { ...confirmation, latest: latest !== null, ...(warning ? { warning } : {}) };
  });

  const leave = async (room: string) => {
    const wasSubscribed = socket.rooms.has(room);
    await socket.leave(room);
    const confirmation = { room, timestamp: new Date().toISOString() };
    socket.emit(ServerEvents.unsubscriptionConfirmed, confirmation);
    return { ...confirmation, wasSubscribed };
  };

  on(ClientEvents.unsubscribe, validators.unsubscribe, async (p: Unsubscribe) => {
    if (!parseRoom(p.room)) throw new VigilError(ErrorCodes.UNKNOWN_ROOM, `not a vigil room: ${JSON.stringify(p.room.slice(0, 80))}`);
    return leave(p.room);
  });

  on(ClientEvents.unsubscribeServerMetrics, validators.byServer, async (p: ByServer) => leave(metricsRoom(p.serverId)));

  on(ClientEvents.getConnectionStatus, validators.none, () => {
    const status = {
      clientId: socket.id,
      connectedAt: session.connectedAt,
      subscribedRooms: subscribedRooms(),
      lastActivity: session.lastActivity,
      timestamp: new Date().toISOString(),
    };
    socket.emit(ServerEvents.connectionStatus, status);
    return status;
  });

  on(ClientEvents.ping, validators.ping, (p: Ping) => {
    const pong = { timestamp: new Date().toISOString(), ...(p && p.timestamp !== undefined ? { echo: p.timestamp } : {}) };
    socket.emit(ServerEvents.pong, pong);
    return pong;
  });

  socket.emit(ServerEvents.connectionEstablished, { clientId: socket.id, timestamp: session.connectedAt });
}
