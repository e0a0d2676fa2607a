// A client's session from handshake to goodbye: the handshake middleware that gives each client
// a session id (or finds its previous session), write-through on every subscription change,
// restoring a found session's rooms, marking it left (or forgetting it, on goodbye) at
// disconnect, and the list of live sessions the store writes again after Redis lost them.
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { ErrorCodes } from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';
import { rejoinsItself, roomsOf } from '../client-rooms.js';
import { subscribeLogs } from '../log-subscriptions.js';
import { subscribeMetrics } from '../metrics-subscriptions.js';
import type { SocketContext } from '../socket-context.js';
import { SessionStore, type LiveSession, type RestoredSession } from './store.js';

const LOAD_TIMEOUT_MS = 1000;
const kRestore = Symbol('vigil.restore');

type SessionSocket = Socket & { [kRestore]?: RestoredSession };

/**
 * The session id of a socket. Socket.IO keeps it in its private `pid` and sends it to the client
 * in CONNECT; socket.io-client sends it back in the handshake of its next connection.
 */
export function sessionIdOf(socket: Socket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

function setSessionId(socket: Socket, id: string): void {
  (socket as unknown as { pid?: string }).pid = id;
}

export class ClientSessions {
  readonly #nsp: Namespace;
  readonly #store: SessionStore;
  readonly #logger: Logger;

  constructor(nsp: Namespace, store: SessionStore, logger: Logger) {
    this.#nsp = nsp;
    this.#store = store;
    this.#logger = logger;
    // Runs before Socket.IO sends CONNECT, so the id set here travels to the client.
    nsp.use((socket, next) => {
      // #handshake never rejects: a session that cannot be read means a new one.
      void this.#handshake(socket).then(() => next());
    });
  }

  /** Starts the heartbeat and the rewrite of live sessions (see SessionStore.start). */
  start(): void {
    this.#store.start(() => this.live());
  }

  stop(): void {
    this.#store.stop();
  }

  /** Every connected client's session that holds a room. */
  live(): LiveSession[] {
    const live: LiveSession[] = [];
    for (const socket of this.#nsp.sockets.values()) {
      const id = sessionIdOf(socket);
      const rooms = id ? roomsOf(socket.rooms) : [];
      if (id && rooms.length > 0) live.push({ id, rooms });
    }
    return live;
  }

  /** Writes this client's subscriptions through to its session. */
  save(socket: Socket): void {
    const id = sessionIdOf(socket);
    if (id && socket.connected) this.#store.save(id, roomsOf(socket.rooms));
  }

  /** A connected client: its rooms back if its session was found, and its goodbye handled. */
  connected(ctx: SocketContext): void {
    const socket = ctx.socket as SessionSocket;
    socket.on('disconnect', (reason) => {
      const id = sessionIdOf(socket);
      if (!id) return;
      // A client that said goodbye will not be back for its rooms; anyone else may be.
      if (reason === 'client namespace disconnect') this.#store.forget(id);
      else this.#store.left(id);
    });
    const restored = socket[kRestore];
    delete socket[kRestore];
    if (restored) void this.#restore(ctx, restored);
  }

  async #handshake(socket: SessionSocket): Promise<void> {
    const previous = (socket.handshake.auth as { pid?: unknown } | undefined)?.pid;
    if (!SessionStore.isValidId(previous) || rejoinsItself(socket)) {
      setSessionId(socket, SessionStore.newId());
      return;
    }
    try {
      const found = await withTimeout(this.#store.load(previous), LOAD_TIMEOUT_MS, 'session');
      setSessionId(socket, found ? previous : SessionStore.newId());
      if (found) socket[kRestore] = found;
    } catch (err) {
      this.#logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'session not restored');
      setSessionId(socket, SessionStore.newId());
    }
  }

  /** Gives a reconnected client its rooms back, with the log lines it missed, as if it had re-subscribed. */
  async #restore(ctx: SocketContext, restored: RestoredSession): Promise<void> {
    let rooms = 0;
    for (const room of restored.rooms) {
      try {
        // `true`: rooms this client subscribed to before, not checked against the registry again.
        if (room.kind === 'metrics') await subscribeMetrics(ctx, { serverId: room.serverId }, true);
        else await subscribeLogs(ctx, { serverId: room.serverId, level: room.level, since: restored.resumeFrom }, true);
        rooms++;
      } catch (err) {
        ctx.log.warn({ err: (err as Error).message, serverId: room.serverId }, 'a room could not be restored');
      }
    }
    this.save(ctx.socket);
    ctx.log.info({ rooms, resumeFrom: restored.resumeFrom }, 'session restored');
  }
}
