// A plain WebSocket connection on /ws as a Client (client.ts): JSON text frames, client → gateway
// `{ id, event, data? }` answered by `{ id, ack }`, gateway → client `{ event, data }`. Its rooms
// are the namespace adapter's rooms under its own id (ws-delivery.ts delivers their broadcasts).
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Namespace } from 'socket.io';
import {
  ErrorCodes,
  ServerEvents,
  WsCloseCodes,
  WsRequest,
  compile,
  errorAck,
  wsCloseCodeOf,
  type DisconnectReason,
  type Permissions,
  type WsAckFrame,
} from '@vigil/protocol';
import type { Ack, Client, EventListener, OutgoingListener } from './client.js';
import type { WsMember } from './ws-delivery.js';

type Adapter = Namespace['adapter'];

const requestV = compile(WsRequest);
const NO_ROOMS: ReadonlySet<string> = new Set();
/** A close reason is at most 123 bytes (RFC 6455); messages are ASCII. */
const MAX_CLOSE_REASON = 120;
const TEXT = { binary: false } as const;
/** WebSocket.OPEN (the readyState of an open connection). */
const OPEN = 1;

type RawSocket = { writable: boolean; write(b: Buffer): boolean };

export type WsClientOptions = {
  adapter: Adapter;
  address: string;
  permissions: Permissions;
  /** Spends one event of the client's budget; false when it is over its rate (malformed frames count too). */
  admit(): boolean;
  /** Counts an answer with an error. */
  onReject?(code: string): void;
};

export class WsClient implements Client, WsMember {
  readonly transport = 'ws';
  // Never 20 characters: the sharded adapter takes a 20-character room for a Socket.IO id.
  readonly id = `ws-${randomUUID()}`;
  readonly address: string;
  permissions: Permissions;
  /** Answered the last heartbeat ping (ws-endpoint.ts). */
  alive = true;
  readonly #ws: WebSocket;
  readonly #socket: RawSocket | null;
  readonly #adapter: Adapter;
  readonly #options: WsClientOptions;
  readonly #handlers = new Map<string, EventListener>();
  #unknown: ((event: unknown, ack: Ack | undefined) => void) | null = null;
  #outgoing: OutgoingListener[] = [];
  #closed = false;

  constructor(ws: WebSocket, options: WsClientOptions) {
    this.#ws = ws;
    // Set by ws before the connection is handed over (the upgrade is done): the TCP socket.
    this.#socket = (ws as unknown as { _socket?: RawSocket })._socket ?? null;
    this.#adapter = options.adapter;
    this.#options = options;
    this.address = options.address;
    this.permissions = options.permissions;
    ws.on('message', (data, isBinary) => this.#receive(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.once('close', () => {
      this.#closed = true;
      this.#adapter.delAll(this.id);
    });
  }

  get rooms(): ReadonlySet<string> {
    return this.#adapter.socketRooms(this.id) ?? NO_ROOMS;
  }

  get connected(): boolean {
    return !this.#closed && this.#ws.readyState === this.#ws.OPEN;
  }

  join(rooms: string | string[]): Promise<void> | void {
    // A subscribe that finishes after the client left must not leave it in a room for good.
    if (!this.connected) return;
    return this.#adapter.addAll(this.id, new Set(typeof rooms === 'string' ? [rooms] : rooms));
  }

  leave(room: string): Promise<void> | void {
    return this.#adapter.del(this.id, room);
  }

  emit(event: string, data: unknown): void {
    this.#notify(event, data);
    this.#send(JSON.stringify({ event, data }));
  }

  deliver(wire: Buffer, payload: Buffer, event: string, data: unknown): void {
    if (this.#outgoing.length > 0) this.#notify(event, data);
    if (this.#ws.readyState !== OPEN) return;
    // Without compression, ws writes every frame synchronously and whole (its sender queues only
    // while deflating, which is off), so a complete frame written between two of its own lands on
    // a frame boundary. Its bufferedAmount counts the socket's queue: the slow-consumer cap holds.
    const socket = this.#socket;
    if (socket?.writable) socket.write(wire);
    else this.#ws.send(payload, TEXT);
  }

  on(event: string, listener: EventListener): void {
    this.#handlers.set(event, listener);
  }

  onUnknown(listener: (event: unknown, ack: Ack | undefined) => void): void {
    this.#unknown = listener;
  }

  onClose(fn: (reason: string) => void): void {
    this.#ws.once('close', (code: number) => fn(`close ${code}`));
  }

  watchOutgoing(fn: OutgoingListener): () => void {
    this.#outgoing = [...this.#outgoing, fn];
    return () => {
      this.#outgoing = this.#outgoing.filter((f) => f !== fn);
    };
  }

  unsentBytes(): number {
    return this.#ws.bufferedAmount;
  }

  end(reason: DisconnectReason, how: 'graceful' | 'drop' = 'graceful'): void {
    if (this.#closed) return;
    this.emit(ServerEvents.disconnectReason, reason);
    this.#ws.close(wsCloseCodeOf(reason.code as Parameters<typeof wsCloseCodeOf>[0]), reason.message.slice(0, MAX_CLOSE_REASON));
    if (how === 'drop') this.#ws.terminate();
  }

  release(): void {
    if (this.#closed) return;
    // Its rooms go now, not when the peer answers the close: the adapter may be closing too.
    this.#closed = true;
    this.#adapter.delAll(this.id);
    this.#ws.close(WsCloseCodes.goingAway, 'gateway going away; reconnect');
  }

  /** Ends the connection now (a peer that stopped answering pings). */
  terminate(): void {
    this.#ws.terminate();
  }

  ping(): void {
    if (this.connected) this.#ws.ping();
  }

  #notify(event: string, data: unknown): void {
    const watchers = this.#outgoing;
    for (let i = 0; i < watchers.length; i++) watchers[i]!(event, data);
  }

  #send(frame: string | Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(frame, TEXT);
  }

  #ack(id: number | null, ack: unknown): void {
    this.#send(JSON.stringify({ id, ack }));
  }

  #refuse(id: number | null, code: (typeof ErrorCodes)['INVALID_FRAME'], message: string): void {
    const admitted = this.#options.admit();
    const refusal = admitted ? errorAck(code, message) : errorAck(ErrorCodes.RATE_LIMITED, 'too many events; slow down');
    this.#options.onReject?.(refusal.error.code);
    this.#ack(id, refusal satisfies WsAckFrame['ack']);
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (isBinary) {
      const message = 'binary frames are not part of the vigil protocol; send JSON text';
      this.#options.onReject?.(ErrorCodes.INVALID_FRAME);
      this.#ack(null, errorAck(ErrorCodes.INVALID_FRAME, message));
      this.end({ code: ErrorCodes.INVALID_FRAME, message });
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch {
      this.#refuse(null, ErrorCodes.INVALID_FRAME, 'not JSON: send { "id": <integer>, "event": "<name>", "data": { … } }');
      return;
    }
    const problem = requestV.explain(frame);
    if (problem !== null) {
      const id = (frame as { id?: unknown } | null)?.id;
      this.#refuse(Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : null, ErrorCodes.INVALID_FRAME, `invalid frame: ${problem}`);
      return;
    }
    const request = frame as WsRequest;
    const ack: Ack = (response) => this.#ack(request.id, response);
    const handler = this.#handlers.get(request.event);
    if (handler) handler('data' in request ? [request.data] : [], ack);
    else this.#unknown?.(request.event, ack);
  }
}
