// A connected client, whatever carries it: a Socket.IO socket (socketio-client.ts) or a plain
// WebSocket on /ws (ws-client.ts). Every event handler, subscription, token check and limit is
// written once against this, so both transports get the same protocol from the same code.
import type { DisconnectReason, Permissions } from '@vigil/protocol';

/** Answers one client event (the Socket.IO ack callback, or a `/ws` `{ id, ack }` frame). */
export type Ack = (response: unknown) => void;
/** One client event: its arguments (the payload, if any) and its ack, if the client asked for one. */
export type EventListener = (args: unknown[], ack: Ack | undefined) => void;
/** Sees each event sent to the client (live broadcasts included), while a subscription is set up. */
export type OutgoingListener = (event: string, data: unknown) => void;

export interface Client {
  readonly id: string;
  readonly transport: 'socket.io' | 'ws';
  /** The rooms it is in (a Socket.IO socket is also in the room of its own id). */
  readonly rooms: ReadonlySet<string>;
  readonly connected: boolean;
  /** Its address (behind trusted proxies, the one they forwarded). */
  readonly address: string;
  /** What its current token allows. */
  permissions: Permissions;
  join(rooms: string | string[]): Promise<void> | void;
  leave(room: string): Promise<void> | void;
  /** Sends an event to this client only. */
  emit(event: string, data: unknown): void;
  /** Handles a protocol event. */
  on(event: string, listener: EventListener): void;
  /** Handles every event that is not handled by `on` (to answer it with an error). */
  onUnknown(listener: (event: unknown, ack: Ack | undefined) => void): void;
  /** Runs once when the connection ends; `reason` as the transport tells it. */
  onClose(fn: (reason: string) => void): void;
  /** Starts watching what this client is sent; returns the function that stops it. */
  watchOutgoing(fn: OutgoingListener): () => void;
  /** Bytes sent to it that it has not read yet (queued in the gateway and in its socket). */
  unsentBytes(): number;
  /**
   * Ends the connection for a reason of the gateway's own: `disconnect-reason`, then the close.
   * `drop`: do not wait for unsent data (a client that does not read would hold it forever).
   */
  end(reason: DisconnectReason, how?: 'graceful' | 'drop'): void;
  /** Lets it go so that it reconnects, through the balancer, to another gateway (a drain). */
  release(): void;
}
