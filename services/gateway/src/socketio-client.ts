// A Socket.IO socket of `/monitoring` as a Client (client.ts). One wrapper per socket, made the
// first time anything asks for it and kept with the socket.
import type { Socket } from 'socket.io';
import { ServerEvents, type DisconnectReason, type Permissions } from '@vigil/protocol';
import type { Ack, Client, EventListener, OutgoingListener } from './client.js';
import { setSocketPermissions, socketPermissions } from './auth/socket-auth.js';
import { dropConnection, unsentBytes } from './slow-consumers.js';

const wrappers = new WeakMap<Socket, SocketIoClient>();

/** The Client of a Socket.IO socket (the same object every time). */
export function clientOf(socket: Socket): SocketIoClient {
  let client = wrappers.get(socket);
  if (!client) wrappers.set(socket, (client = new SocketIoClient(socket)));
  return client;
}

/** The Socket.IO socket behind a client, if a socket carries it (sessions are a Socket.IO feature). */
export function socketOf(client: Client): Socket | undefined {
  return client instanceof SocketIoClient ? client.socket : undefined;
}

export class SocketIoClient implements Client {
  readonly transport = 'socket.io';
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  get id(): string {
    return this.socket.id;
  }

  get rooms(): ReadonlySet<string> {
    return this.socket.rooms;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  get address(): string {
    return this.socket.handshake.address;
  }

  get permissions(): Permissions {
    return socketPermissions(this.socket);
  }

  set permissions(p: Permissions) {
    setSocketPermissions(this.socket, p);
  }

  join(rooms: string | string[]): Promise<void> | void {
    return this.socket.join(rooms);
  }

  leave(room: string): Promise<void> | void {
    return this.socket.leave(room);
  }

  emit(event: string, data: unknown): void {
    this.socket.emit(event, data);
  }

  on(event: string, listener: EventListener): void {
    this.socket.on(event, (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
      listener(args, ack);
    });
  }

  onUnknown(listener: (event: unknown, ack: Ack | undefined) => void): void {
    const known = (event: unknown) => typeof event === 'string' && this.socket.listeners(event).length > 0;
    this.socket.onAny((event: unknown, ...args: unknown[]) => {
      if (known(event)) return;
      const ack = args[args.length - 1];
      listener(event, typeof ack === 'function' ? (ack as Ack) : undefined);
    });
  }

  onClose(fn: (reason: string) => void): void {
    this.socket.once('disconnect', fn);
  }

  watchOutgoing(fn: OutgoingListener): () => void {
    const listener = (event: string, data: unknown) => fn(event, data);
    this.socket.onAnyOutgoing(listener);
    return () => this.socket.offAnyOutgoing(listener);
  }

  unsentBytes(): number {
    return unsentBytes(this.socket.conn);
  }

  end(reason: DisconnectReason, how: 'graceful' | 'drop' = 'graceful'): void {
    this.socket.emit(ServerEvents.disconnectReason, reason);
    if (how === 'drop') dropConnection(this.socket);
    else this.socket.disconnect(true);
  }

  release(): void {
    // "transport close": the client reconnects by itself (disconnect(true) would tell it not to).
    this.socket.conn.close();
  }
}
