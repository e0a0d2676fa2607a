// What every event handler of one connected client shares.
import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import type { Validator } from '@vigil/protocol';
import type { LogStore, ServerStore } from '@vigil/store';
import type { ClientSession } from './client-session.js';
import { handleEvent, type HandlerResult } from './event-handler.js';
import { roomsOf } from './client-rooms.js';
import type { SessionStore } from './sessions.js';

export type MonitoringDeps = {
  store: ServerStore;
  logs: LogStore;
  logger: Logger;
  limits: { maxRooms: number; perSecond: number; burst: number };
  /** Resolves once every subscription this gateway has asked Redis for is in effect. */
  syncSubscriptions(): Promise<void>;
  /** Counts an event answered with an error. */
  onReject?(code: string): void;
  sessions?: SessionStore;
  /** Whether a collector has registered this server (subscribing to others is refused). */
  isRegistered?(serverId: string): Promise<boolean>;
};

export type SocketContext = {
  socket: Socket;
  session: ClientSession;
  log: Logger;
  deps: MonitoringDeps;
  on<T extends TSchema>(event: string, v: Validator<T>, h: (p: Static<T>) => Promise<HandlerResult> | HandlerResult): void;
  /** Writes this client's subscriptions through to its session. */
  saveSession(): void;
};

/** The session id Socket.IO sends the client in CONNECT (set by the session middleware). */
export function sessionIdOf(socket: Socket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

export function socketContext(socket: Socket, session: ClientSession, log: Logger, deps: MonitoringDeps): SocketContext {
  return {
    socket,
    session,
    log,
    deps,
    on: (event, v, h) => handleEvent(socket, session, log, event, v, h, deps.onReject),
    saveSession() {
      const id = sessionIdOf(socket);
      if (id && deps.sessions && socket.connected) deps.sessions.save(id, roomsOf(socket.rooms));
    },
  };
}
