// The stall watchdog: a connection over which nothing at all arrives — no event, no engine.io
// ping — for `intervals` of the gateway's ping interval is stuck (a transport that looks open but
// carries nothing: a long-poll held by a proxy for a gateway that is gone, a half-open TCP
// connection), and is closed so the manager reconnects. A live connection carries the gateway's
// ping every interval, so the default of 1.5 finds a stall before engine.io's own ping timeout
// (interval + timeout: 45 s with the gateway's defaults).
import type { Socket } from 'socket.io-client';

/** engine.io's default ping interval, used until a handshake announces the gateway's. */
const DEFAULT_PING_INTERVAL_MS = 25_000;

type Timer = ReturnType<typeof setInterval>;

export class StallWatch {
  readonly #socket: Socket;
  readonly #intervals: number;
  readonly #onStall: (silentMs: number) => void;
  readonly #undo: Array<() => void> = [];
  #lastHeard = Date.now();
  #lastCheck = Date.now();
  #timer: Timer | undefined;
  #limitMs = 0;

  constructor(socket: Socket, intervals: number, onStall: (silentMs: number) => void) {
    this.#socket = socket;
    this.#intervals = intervals;
    this.#onStall = onStall;
    const heard = () => {
      this.#lastHeard = Date.now();
    };
    // The manager re-emits every engine ping and every decoded Socket.IO packet, of any engine.
    const arm = () => this.#arm();
    const disarm = () => this.#disarm();
    socket.io.on('ping', heard);
    socket.io.on('packet', heard);
    socket.io.on('open', arm);
    socket.io.on('close', disarm);
    this.#undo.push(() => {
      socket.io.off('ping', heard);
      socket.io.off('packet', heard);
      socket.io.off('open', arm);
      socket.io.off('close', disarm);
    });
  }

  stop(): void {
    this.#disarm();
    for (const undo of this.#undo.splice(0)) undo();
  }

  /** A new engine is open: its handshake announced the ping interval the limit derives from. */
  #arm(): void {
    this.#disarm();
    this.#limitMs = this.#intervals * pingIntervalOf(this.#socket);
    this.#lastHeard = this.#lastCheck = Date.now();
    const every = Math.max(50, Math.round(this.#limitMs / 4));
    this.#timer = setInterval(() => this.#check(every), every);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(every: number): void {
    const now = Date.now();
    const late = now - this.#lastCheck > 2 * every;
    this.#lastCheck = now;
    // After a stall of this process's own event loop, timers run before the packets that wait
    // in its sockets: give them one round before calling the connection silent.
    if (late) return;
    const silent = now - this.#lastHeard;
    if (silent > this.#limitMs && this.#socket.connected) {
      this.#disarm();
      this.#onStall(silent);
    }
  }
}

/** The ping interval the gateway announced in this engine's handshake (engine.io-client keeps it privately). */
function pingIntervalOf(socket: Socket): number {
  const announced = (socket.io.engine as unknown as { _pingInterval?: unknown } | undefined)?._pingInterval;
  return typeof announced === 'number' && announced > 0 ? announced : DEFAULT_PING_INTERVAL_MS;
}
