// The connection state a dashboard shows, derived from socket.io-client's socket and manager
// events and the browser's online/offline signals. It also covers the two cases in which
// socket.io-client stops by itself — the gateway disconnected us on purpose ("io server
// disconnect", e.g. while draining) or refused the namespace handshake — so that, by default,
// the client never gives up. Except where retrying cannot help: a token refused or expired (state
// `unauthorized` until the application gives a new token) or an origin refused. And a connection
// that stays open but carries nothing is closed and made again (stall-watch.ts).
import type { Socket } from 'socket.io-client';
import { ErrorCodes, ServerEvents, type DisconnectReason } from '@vigil/protocol';
import { backoffDelay, type ResolvedClientOptions } from './options.js';
import { StallWatch } from './stall-watch.js';

/** `refused`: the gateway refused this page's origin; retrying cannot help. */
export type OfflineReason = 'network' | 'gave-up' | 'closed' | 'refused';

/** A refusal the gateway explains: `connect_error`'s `data`, or `disconnect-reason` before it ends a connection. */
export type GatewayRefusal = DisconnectReason;

/** Codes after which reconnecting with the same token cannot succeed. */
const NEEDS_TOKEN = new Set<string>([ErrorCodes.UNAUTHORIZED, ErrorCodes.TOKEN_EXPIRED]);

export type ConnectionState =
  | { name: 'connecting' }
  | { name: 'connected' }
  /** `attempt` counts from 1 since the connection was lost (or since the first attempt failed). */
  | { name: 'reconnecting'; attempt: number; reason: string }
  | { name: 'offline'; reason: OfflineReason }
  /** The gateway refused the token (or it expired): no reconnect until setToken() gives another. */
  | { name: 'unauthorized'; code: string; message: string };

export type ConnectionStateName = ConnectionState['name'];

type Timer = ReturnType<typeof setTimeout>;

export class ConnectionMonitor {
  readonly #socket: Socket;
  readonly #options: ResolvedClientOptions;
  readonly #publish: (state: ConnectionState) => void;
  readonly #undo: Array<() => void> = [];
  #state: ConnectionState = { name: 'connecting' };
  #manualAttempts = 0;
  #manualTimer: Timer | undefined;
  #networkDown = false;
  #closed = false;
  #lastReason = 'connection lost';
  /** What the gateway said before it ended the connection, until the disconnect that follows. */
  #serverReason: GatewayRefusal | null = null;
  /** Stopped on a refusal that retrying cannot fix, until resume(). */
  #halted = false;
  /** Why the watchdog closed the connection, until the disconnect that follows. */
  #stalled: string | null = null;

  constructor(socket: Socket, options: ResolvedClientOptions, publish: (state: ConnectionState) => void) {
    this.#socket = socket;
    this.#options = options;
    this.#publish = publish;
    const onConnect = () => this.#onConnect();
    const onDisconnect = (reason: string) => this.#onDisconnect(reason);
    const onConnectError = (err: Error) => this.#onConnectError(err);
    const onAttempt = (attempt: number) => this.#set({ name: 'reconnecting', attempt, reason: this.#lastReason });
    const onGaveUp = () => this.#set({ name: 'offline', reason: 'gave-up' });
    const onReason = (reason: unknown) => (this.#serverReason = refusalOf(reason));
    socket.on(ServerEvents.disconnectReason, onReason);
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onConnectError);
    socket.io.on('reconnect_attempt', onAttempt);
    socket.io.on('reconnect_failed', onGaveUp);
    this.#undo.push(() => {
      socket.off(ServerEvents.disconnectReason, onReason);
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onConnectError);
      socket.io.off('reconnect_attempt', onAttempt);
      socket.io.off('reconnect_failed', onGaveUp);
    });
    if (options.silentIntervals !== null) {
      const watch = new StallWatch(socket, options.silentIntervals, (ms) => this.#onStall(ms));
      this.#undo.push(() => watch.stop());
    }
    const network = options.network;
    if (network) {
      this.#networkDown = !network.online();
      if (this.#networkDown) this.#state = { name: 'offline', reason: 'network' };
      this.#undo.push(network.watch((online) => this.#onNetwork(online)));
    }
  }

  get state(): ConnectionState {
    return this.#state;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#manualTimer);
    for (const undo of this.#undo.splice(0)) undo();
    this.#set({ name: 'offline', reason: 'closed' });
  }

  /** Connects again after a halt (a new token was given), from a fresh backoff. */
  resume(): void {
    if (this.#closed || this.#socket.connected) return;
    // Only a halt or a manager that gave up needs a push: an attempt under way asks for the token
    // itself, and a network that is down comes back by itself.
    const gaveUp = this.#state.name === 'offline' && this.#state.reason === 'gave-up';
    if (!this.#halted && !gaveUp) return;
    this.#halted = false;
    clearTimeout(this.#manualTimer);
    this.#manualAttempts = 0;
    this.#set({ name: 'connecting' });
    this.#socket.connect();
  }

  /** Disconnects and stays away until resume() (e.g. the application signed out). */
  halt(refusal: GatewayRefusal): void {
    if (this.#closed) return;
    this.#halted = true;
    clearTimeout(this.#manualTimer);
    this.#socket.disconnect();
    this.#set({ name: 'unauthorized', ...refusal });
  }

  #onConnect(): void {
    this.#manualAttempts = 0;
    this.#serverReason = null;
    clearTimeout(this.#manualTimer);
    this.#set({ name: 'connected' });
  }

  /** Nothing arrived for too long over an open connection: close its transport; the manager reconnects. */
  #onStall(silentMs: number): void {
    if (this.#closed || this.#halted) return;
    this.#stalled = `nothing received for ${silentMs} ms (no event, no heartbeat)`;
    this.#options.logger.warn({ silentMs }, 'connection stalled; reconnecting');
    this.#socket.io.engine.close();
  }

  #onDisconnect(reason: string): void {
    const stalled = this.#stalled;
    this.#stalled = null;
    if (stalled) reason = stalled;
    if (this.#closed || reason === 'io client disconnect') return;
    const said = this.#serverReason;
    this.#serverReason = null;
    if (said && reason === 'io server disconnect' && this.#stopFor(said)) return;
    this.#lastReason = said ? said.message : reason;
    // On "io server disconnect" socket.io-client does not reconnect by itself: we do.
    if (!this.#socket.active) this.#scheduleManual();
    else this.#set({ name: 'reconnecting', attempt: 1, reason });
  }

  #onConnectError(err: Error): void {
    if (this.#closed) return;
    const refusal = refusalOf((err as Error & { data?: unknown }).data);
    if (refusal && !this.#socket.active && this.#stopFor(refusal)) return;
    this.#lastReason = refusal?.message ?? err.message;
    // A refusal by the gateway's middleware leaves the socket inactive; a transport failure is
    // retried by the manager, which announces each attempt.
    if (!this.#socket.active) this.#scheduleManual();
  }

  /** True when the refusal is one retrying cannot fix: the monitor stops and says why. */
  #stopFor(refusal: GatewayRefusal): boolean {
    if (NEEDS_TOKEN.has(refusal.code)) {
      this.#halted = true;
      this.#set({ name: 'unauthorized', ...refusal });
      return true;
    }
    if (refusal.code === ErrorCodes.ORIGIN_REFUSED) {
      this.#halted = true;
      this.#options.logger.warn({ code: refusal.code }, refusal.message);
      this.#set({ name: 'offline', reason: 'refused' });
      return true;
    }
    return false;
  }

  #scheduleManual(): void {
    clearTimeout(this.#manualTimer);
    const r = this.#options.reconnection;
    if (this.#manualAttempts >= r.maxAttempts) {
      this.#set({ name: 'offline', reason: 'gave-up' });
      return;
    }
    const delay = backoffDelay(this.#manualAttempts, r);
    this.#manualAttempts++;
    this.#set({ name: 'reconnecting', attempt: this.#manualAttempts, reason: this.#lastReason });
    this.#manualTimer = setTimeout(() => {
      if (!this.#closed && !this.#halted && !this.#socket.connected) this.#socket.connect();
    }, delay);
  }

  #onNetwork(online: boolean): void {
    if (this.#closed || this.#halted) return;
    this.#networkDown = !online;
    if (!online) {
      if (!this.#socket.connected) this.#set({ name: 'offline', reason: 'network' });
      return;
    }
    if (this.#socket.connected) return;
    // Back online: try now instead of waiting out the backoff.
    clearTimeout(this.#manualTimer);
    this.#manualAttempts = 0;
    this.#lastReason = 'network back online';
    this.#set({ name: 'reconnecting', attempt: 1, reason: this.#lastReason });
    this.#socket.disconnect().connect();
  }

  /** While the browser says it is offline, a lost connection shows as offline, not as attempts. */
  #set(next: ConnectionState): void {
    if (this.#closed && !(next.name === 'offline' && next.reason === 'closed')) return;
    if (this.#networkDown && next.name === 'reconnecting') next = { name: 'offline', reason: 'network' };
    if (sameState(this.#state, next)) return;
    this.#state = next;
    this.#publish(next);
  }
}

function sameState(a: ConnectionState, b: ConnectionState): boolean {
  if (a.name === 'reconnecting' && b.name === 'reconnecting') return a.attempt === b.attempt;
  if (a.name === 'offline' && b.name === 'offline') return a.reason === b.reason;
  if (a.name === 'unauthorized' && b.name === 'unauthorized') return a.code === b.code && a.message === b.message;
  return a.name === b.name;
}

/** The refusal in `disconnect-reason` or `connect_error`'s `data`; null when it names no code. */
export function refusalOf(value: unknown): GatewayRefusal | null {
  const v = value as { code?: unknown; message?: unknown } | null | undefined;
  if (typeof v?.code !== 'string') return null;
  return { code: v.code, message: typeof v.message === 'string' ? v.message : v.code };
}
