// A client's session from handshake to goodbye: the handshake middleware that gives each client
// a session id (or finds its previous session), write-through on every subscription change,
// restoring a found session's rooms, marking it left (or forgetting it, on goodbye) at
// disconnect, and the list of live sessions the store writes again after Redis lost them.
//
// A restore is never given up while the client is connected: a client that does not re-subscribe
// (the earlier dashboard) would otherwise stay connected and silent for good. A session that
// could not be read in the handshake's budget keeps its id and is read again after CONNECT; a
// room that could not be restored is tried again, and is kept in the session meanwhile.
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';
import { rejoinsItself, roomsOf, type SessionRoom } from '../client-rooms.js';
import { subscribeLogs } from '../log-subscriptions.js';
import { subscribeMetrics } from '../metrics-subscriptions.js';
import type { SocketContext } from '../socket-context.js';
import { mayHold, socketPermissions } from '../auth/socket-auth.js';
import { SessionStore, type LiveSession, type RestoredSession } from './store.js';
import { ROOMS_PER_SOCKET_CEILING } from '../options.js';
import { askOf } from '../interest.js';
import type { Client } from '../client.js';
import { clientOf, socketOf } from '../socketio-client.js';

/** What the handshake (and so the client's CONNECT) waits for its session; later reads wait longer. */
const LOAD_TIMEOUT_MS = 1000;
const RETRY_LOAD_TIMEOUT_MS = 5000;
/** Retries of a session read or of a room restore: doubling from the first delay up to the last. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;
const kRestore = Symbol('vigil.restore');
const kPending = Symbol('vigil.pendingRooms');
const kWithdrawn = Symbol('vigil.withdrawnRooms');
/** The handshake could not tell whether the client's session exists: read it after CONNECT. */
const UNREAD = 'unread';

type SessionSocket = Socket & {
  [kRestore]?: RestoredSession | typeof UNREAD;
  /** Rooms of the session not restored yet; UNREAD while the session itself is not read yet. */
  [kPending]?: SessionRoom[] | typeof UNREAD;
  /** Rooms the client left while its session was still being restored: never joined again by the restore. */
  [kWithdrawn]?: Set<string>;
};

const isWithdrawn = (socket: SessionSocket, room: SessionRoom) => socket[kWithdrawn]?.has(`${room.kind}:${room.serverId}`) === true;

const retryDelay = (attempt: number) => Math.min(RETRY_FIRST_MS * 2 ** Math.min(attempt, 10), RETRY_MAX_MS);
/** Worth another try: Redis slow or away. A refusal (room limit, a forbidden room) is final. */
const transient = (err: unknown) => !(err instanceof VigilError) || err.code === ErrorCodes.REDIS_UNAVAILABLE;
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The rooms to write to a socket's session: those it holds and those still being restored; null while its session is unread. */
function sessionRooms(socket: SessionSocket): SessionRoom[] | null {
  const pending = socket[kPending];
  if (pending === UNREAD) return null;
  const held = roomsOf(socket.rooms).map((r) => withAsk(socket, r));
  if (!pending || pending.length === 0) return held;
  const key = (r: SessionRoom) => JSON.stringify(r);
  const seen = new Set(held.map(key));
  return [...held, ...pending.filter((r) => !seen.has(key(r)))];
}

/** A metrics room with the interval the client asked, so a restore asks it again. */
function withAsk(socket: Socket, room: SessionRoom): SessionRoom {
  if (room.kind !== 'metrics') return room;
  const interval = askOf(clientOf(socket), room.serverId);
  return interval === undefined ? room : { ...room, interval };
}

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
  #stopped = false;

  constructor(nsp: Namespace, store: SessionStore, logger: Logger) {
    this.#nsp = nsp;
    this.#store = store;
    this.#logger = logger;
    // Runs before Socket.IO sends CONNECT, so the id set here travels to the client.
    nsp.use((socket, next) => {
      // #handshake never rejects: a session that cannot be read in time is read after CONNECT.
      void this.#handshake(socket).then(() => next());
    });
  }

  /** Starts the heartbeat and the rewrite of live sessions (see SessionStore.start). */
  start(): void {
    this.#store.start(() => this.live());
  }

  stop(): void {
    this.#stopped = true;
    this.#store.stop();
  }

  /** Every connected client's session that holds a room (or is still getting it back). */
  live(): LiveSession[] {
    const live: LiveSession[] = [];
    for (const socket of this.#nsp.sockets.values()) {
      const id = sessionIdOf(socket);
      const rooms = id ? sessionRooms(socket) : null;
      if (id && rooms && rooms.length > 0) live.push({ id, rooms });
    }
    return live;
  }

  /**
   * The client left a server's room itself: a restore still under way must not join it again
   * (nor keep it in the session). Only remembered while there is a restore to tell.
   */
  withdraw(client: Client, kind: SessionRoom['kind'], serverId: string): void {
    const s = socketOf(client) as SessionSocket | undefined;
    if (!s) return;
    const pending = s[kPending];
    if (pending === undefined || (Array.isArray(pending) && pending.length === 0)) return;
    const withdrawn = (s[kWithdrawn] ??= new Set());
    if (withdrawn.size < ROOMS_PER_SOCKET_CEILING) withdrawn.add(`${kind}:${serverId}`);
    if (Array.isArray(pending)) s[kPending] = pending.filter((r) => !isWithdrawn(s, r));
  }

  /** Writes this client's subscriptions through to its session (not before its session has been read). */
  save(client: Client): void {
    const socket = socketOf(client);
    if (!socket) return;
    const id = sessionIdOf(socket);
    const rooms = sessionRooms(socket);
    if (id && rooms && socket.connected) this.#store.save(id, rooms);
  }

  /** A connected client: its rooms back if its session was found, and its goodbye handled. */
  connected(ctx: SocketContext): void {
    const socket = socketOf(ctx.client) as SessionSocket | undefined;
    if (!socket) return; // sessions are a Socket.IO feature: a /ws client re-subscribes itself
    socket.on('disconnect', (reason) => {
      const id = sessionIdOf(socket);
      if (!id) return;
      // A client that said goodbye will not be back for its rooms; anyone else may be.
      if (reason === 'client namespace disconnect') this.#store.forget(id);
      else this.#store.left(id);
    });
    const restored = socket[kRestore];
    delete socket[kRestore];
    if (restored === UNREAD) void this.#readLater(ctx);
    else if (restored) void this.#restore(ctx, restored);
  }

  #gone(socket: Socket): boolean {
    return this.#stopped || !socket.connected;
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
      // Not "no session": unknown. A busy gateway's event loop runs an expired timer before the
      // reply that is already there, so this happens under CPU starvation with Redis healthy.
      // Keep the id (the session stays this client's) and read it again once connected.
      this.#logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'session not read in time; reading it again after connect');
      setSessionId(socket, previous);
      socket[kRestore] = socket[kPending] = UNREAD;
    }
  }

  /** Reads a session the handshake could not, until it is read or the client has gone. */
  async #readLater(ctx: SocketContext): Promise<void> {
    const socket = socketOf(ctx.client) as SessionSocket;
    const id = sessionIdOf(socket)!;
    for (let attempt = 0; !this.#gone(socket); attempt++) {
      try {
        const found = await withTimeout(this.#store.load(id), RETRY_LOAD_TIMEOUT_MS, 'session');
        if (this.#gone(socket)) return;
        socket[kPending] = found?.rooms ?? [];
        if (found) await this.#restore(ctx, found);
        else ctx.log.info('no session to restore');
        return;
      } catch (err) {
        ctx.log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message, attempt }, 'session not read yet');
        await pause(retryDelay(attempt));
      }
    }
  }

  /**
   * Gives a reconnected client its rooms back, with the log lines it missed, as if it had
   * re-subscribed. A room that fails is tried again while the client is connected.
   */
  async #restore(ctx: SocketContext, restored: RestoredSession): Promise<void> {
    const socket = socketOf(ctx.client) as SessionSocket;
    // The token presented here decides, not the one the session was made under.
    const permissions = socketPermissions(socket);
    let pending = restored.rooms.filter((room) => {
      if (isWithdrawn(socket, room)) return false;
      if (mayHold(permissions, room)) return true;
      ctx.log.debug({ kind: room.kind, serverId: room.serverId, subject: permissions.subject }, 'a room the token does not allow was not restored');
      return false;
    });
    socket[kPending] = pending;
    for (let attempt = 0; pending.length > 0 && !this.#gone(socket); attempt++) {
      if (attempt > 0) await pause(retryDelay(attempt - 1));
      const failed: SessionRoom[] = [];
      for (const room of pending) {
        if (this.#gone(socket)) return;
        if (isWithdrawn(socket, room)) continue; // the client left it meanwhile
        try {
          // `true`: rooms this client subscribed to before, not checked against the registry again.
          if (room.kind === 'metrics') {
            await subscribeMetrics(ctx, { serverId: room.serverId, ...(room.interval === undefined ? {} : { interval: room.interval }) }, true);
          }
          else await subscribeLogs(ctx, { serverId: room.serverId, level: room.level, since: restored.resumeFrom }, true);
        } catch (err) {
          if (!transient(err)) {
            ctx.log.warn({ code: (err as VigilError).code, err: (err as Error).message, serverId: room.serverId }, 'a room could not be restored');
            continue;
          }
          failed.push(room);
          ctx.log.warn({ err: (err as Error).message, serverId: room.serverId, attempt }, 'a room not restored yet; trying again');
        }
      }
      pending = failed.filter((room) => !isWithdrawn(socket, room));
      socket[kPending] = pending;
      this.save(ctx.client);
    }
    if (!this.#gone(socket)) ctx.log.info({ rooms: restored.rooms.length, resumeFrom: restored.resumeFrom }, 'session restored');
  }
}
