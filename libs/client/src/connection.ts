// The connection state a dashboard shows, derived from socket.io-client's socket and manager
// events and the browser's online/offline signals. It also covers the two cases in which
// socket.io-client stops by itself — the gateway disconnected us on purpose ("io server
// disconnect", e.g. while draining) or refused the namespace handshake — so that, by default,
// the client never gives up.
import type { Socket } from 'socket.io-client';
import { backoffDelay, type ResolvedClientOptions } from './options.js';

export type OfflineReason = 'network' | 'gave-up' | 'closed';

export type ConnectionState =
  | { name: 'connecting' }
  | { name: 'connected' }
  /** `attempt` counts from 1 since the connection was lost (or since the first attempt failed). */
  | { name: 'reconnecting'; attempt: number; reason: string }
  | { name: 'offline'; reason: OfflineReason };

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

  constructor(socket: Socket, options: ResolvedClientOptions, publish: (state: ConnectionState) => void) {
    this.#socket = socket;
    this.#options = options;
    this.#publish = publish;
    const onConnect = () => this.#onConnect();
    const onDisconnect = (reason: string) => this.#onDisconnect(reason);
    const onConnectError = (err: Error) => this.#onConnectError(err);
    const onAttempt = (attempt: number) => this.#set({ name: 'reconnecting', attempt, reason: this.#lastReason });
    const onGaveUp = () => this.#set({ name: 'offline', reason: 'gave-up' });
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onConnectError);
    socket.io.on('reconnect_attempt', onAttempt);
    socket.io.on('reconnect_failed', onGaveUp);
    this.#undo.push(() => {
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onConnectError);
      socket.io.off('reconnect_attempt', onAttempt);
      socket.io.off('reconnect_failed', onGaveUp);
    });
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

  #onConnect(): void {
    this.#manualAttempts = 0;
    clearTimeout(this.#manualTimer);
    this.#set({ name: 'connected' });
  }

  #onDisconnect(reason: string): void {
    if (this.#closed || reason === 'io client disconnect') return;
    this.#lastReason = reason;
    // On "io server disconnect" socket.io-client does not reconnect by itself: we do.
    if (!this.#socket.active) this.#scheduleManual();
    else this.#set({ name: 'reconnecting', attempt: 1, reason });
  }

  #onConnectError(err: Error): void {
    if (this.#closed) return;
    this.#lastReason = err.message;
    // A refusal by the gateway's middleware leaves the socket inactive; a transport failure is
    // retried by the manager, which announces each attempt.
    if (!this.#socket.active) this.#scheduleManual();
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
      if (!this.#closed && !this.#socket.connected) this.#socket.connect();
    }, delay);
  }

  #onNetwork(online: boolean): void {
    if (this.#closed) return;
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
  return a.name === b.name;
}
