// Bytes a client has been sent but has not read, and what happens when they pile up. A client
// that stops reading would otherwise hold the gateway's memory without bound: every event for
// its rooms waits in its engine socket (packets queue while the transport is not writable) and
// in its WebSocket's send buffer. A sweep measures each socket a few times a second (cheap: an
// empty queue and a counter per socket; nothing on the fan-out path) and disconnects those past
// the limit with a reason. Pagers (log replay) wait for a socket to drain before sending more.
// Measuring a Socket.IO connection also notes when it last had nothing queued (`caughtUpAt`):
// what silent-session counting (sessions/silence.ts) needs, without a listener on every flush.
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ErrorCodes } from '@vigil/protocol';
import type { Client } from './client.js';

type Packet = { data?: unknown };
type EngineConnection = Socket['conn'];
type EngineInternals = { writeBuffer?: Packet[]; transport: { name: string; socket?: { bufferedAmount?: number; terminate?(): void } } };

const kCaughtUp = Symbol('vigil.caughtUpAt');
type Measured = { [kCaughtUp]?: number };

/** Whether the engine holds no packet for this connection: everything due has been handed to its transport. */
export function nothingQueued(conn: EngineConnection): boolean {
  return ((conn as unknown as EngineInternals).writeBuffer?.length ?? 0) === 0;
}

/** When a measure of this connection (unsentBytes) last found nothing queued (ms), if one has. */
export function caughtUpAt(conn: EngineConnection): number | undefined {
  return (conn as unknown as Measured)[kCaughtUp];
}

/**
 * The clock of the sweep in progress: every connection it measures reads the same time (one
 * clock read per sweep, not one per connection: a sweep of thousands takes well under its period).
 */
let sweepNow: number | null = null;

/**
 * Unsent bytes of one connection: queued packets plus what its WebSocket has not written out.
 * With nothing queued, notes the time (caughtUpAt).
 */
export function unsentBytes(conn: EngineConnection): number {
  const c = conn as unknown as EngineInternals;
  let bytes = 0;
  const queued = c.writeBuffer;
  if (queued) for (let i = 0; i < queued.length; i++) bytes += sizeOf(queued[i]!.data);
  if (!queued || queued.length === 0) (conn as unknown as Measured)[kCaughtUp] = sweepNow ?? Date.now();
  if (c.transport.name === 'websocket') bytes += c.transport.socket?.bufferedAmount ?? 0;
  return bytes;
}

// Packets are JSON text: string length stands for bytes (exact for ASCII, close otherwise).
function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Resolves true once the client's unsent bytes are at most `below`, false if it disconnects
 * first (or once `cancelled()` says the wait is no longer wanted). Polls with a growing pause: a
 * paused reader costs a timer, never memory.
 */
export async function drained(client: Client, below: number, cancelled: () => boolean = () => false): Promise<boolean> {
  let pause = 2;
  while (client.connected && !cancelled()) {
    if (client.unsentBytes() <= below) return true;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 100);
  }
  return false;
}

/** Ends a connection now, dropping what it has not been sent (a graceful close would wait for it). */
export function dropConnection(socket: Socket): void {
  const transport = (socket.conn as unknown as EngineInternals).transport;
  socket.disconnect(true);
  if (transport.name === 'websocket' && transport.socket?.terminate) transport.socket.terminate();
  else socket.conn.close(true);
}

export type SlowConsumerOptions = {
  maxBufferedBytes: number;
  everyMs: number;
  logger: Logger;
  /** The client's address for the log (behind a proxy, not the proxy's). */
  addressOf?(client: Client): string;
  onDisconnect?(bytes: number): void;
};

/** Measures the clients `clients()` lists (one sweep per transport). */
export class SlowConsumerSweep {
  readonly #clients: () => Iterable<Client>;
  readonly #options: SlowConsumerOptions;
  #timer: NodeJS.Timeout | null = null;
  /** Duration of the longest sweep so far, in ms (what the sweep costs, for tests and tuning). */
  longestSweepMs = 0;

  constructor(clients: () => Iterable<Client>, options: SlowConsumerOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.sweep(), this.#options.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  sweep(): void {
    const started = performance.now();
    const max = this.#options.maxBufferedBytes;
    const over: Array<[Client, number]> = [];
    sweepNow = Date.now();
    try {
      for (const client of this.#clients()) {
        const bytes = client.unsentBytes();
        if (bytes > max) over.push([client, bytes]);
      }
    } finally {
      sweepNow = null;
    }
    for (const [client, bytes] of over) this.#disconnect(client, bytes);
    this.longestSweepMs = Math.max(this.longestSweepMs, performance.now() - started);
  }

  #disconnect(client: Client, bytes: number): void {
    const message = `${bytes} bytes unsent (limit ${this.#options.maxBufferedBytes}): the client is not reading`;
    this.#options.logger.warn(
      { code: ErrorCodes.SLOW_CONSUMER, clientId: client.id, transport: client.transport, address: this.#options.addressOf?.(client) ?? client.address, bytes },
      'slow consumer disconnected',
    );
    this.#options.onDisconnect?.(bytes);
    // The reason is best effort: it queues behind what the client is not reading.
    client.end({ code: ErrorCodes.SLOW_CONSUMER, message }, 'drop');
  }
}
