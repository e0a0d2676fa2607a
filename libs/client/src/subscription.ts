// What a subscription is, and the join cycle every kind shares: join when connected, again after
// every reconnect, retry what is transient, end on what is not. Each kind (metrics, logs) only
// says what it sends and how it delivers what arrives.
import { ErrorCodes, type AlertEvent, type AlertSeverity, type LogLevel } from '@vigil/protocol';
import { ClientErrorCodes, VigilClientError, toClientError } from './errors.js';
import type { ClientLogger } from './logger.js';
import type { Payloads, Reply, RequestName } from './wire.js';

export interface Subscription {
  readonly kind: 'metrics' | 'logs';
  readonly serverId: string;
  /** True from the gateway's first confirmation until unsubscribe(), close() or a permanent failure. */
  readonly active: boolean;
  /** Position of the last event delivered to the handler, or null. */
  readonly lastPosition: string | null;
  /** Stops delivery at once and leaves the gateway's room; resolves when the gateway confirmed (or at once when offline). */
  unsubscribe(): Promise<void>;
}

export interface MetricsSubscription extends Subscription {
  readonly kind: 'metrics';
  /** The interval asked for (undefined: the server's configured one). */
  readonly asked: number | undefined;
  /** The interval samples come at, as the gateway last confirmed it (null before the first confirmation). */
  readonly interval: number | null;
  /** Asks for samples every `interval` ms (undefined: the configured interval); resolves with the confirmed interval. */
  setInterval(interval: number | undefined): Promise<number | null>;
}

/** `subscribeAlerts`: every server (serverId null) or one, at a severity and above. */
export interface AlertsSubscription {
  readonly kind: 'alerts';
  readonly serverId: string | null;
  readonly severity: AlertSeverity;
  readonly active: boolean;
  /** Position of the newest alert event delivered, or null. */
  readonly lastPosition: string | null;
  /** The alerts firing now, as far as this subscription knows (refreshed by every re-join). */
  firing(): AlertEvent[];
  unsubscribe(): Promise<void>;
}

export interface LogsSubscription extends Subscription {
  readonly kind: 'logs';
  readonly level: LogLevel;
  /** Changes the level; lines after the last delivered one are replayed at the new level. */
  setLevel(level: LogLevel): Promise<void>;
}

/** What a subscription needs from the client that owns it. */
export interface ChannelHost {
  readonly connected: boolean;
  readonly logger: ClientLogger;
  /**
   * Sends a request; resolves with the ok ack (checked against its schema) or rejects with a VigilClientError.
   * `progress` tells when the answer last made progress (e.g. a replayed line arrived), in epoch ms.
   */
  request<E extends RequestName>(event: E, payload: Payloads[E], progress?: () => number): Promise<Reply<E>>;
  /** Delay before retry number `attempt` (0-based). */
  retryDelay(attempt: number): number;
  /** Forgets the channel and leaves its room on the gateway if no other channel needs it. */
  release(channel: Channel): Promise<void>;
  /**
   * The interval to ask for a server: the fastest asked by this client's subscriptions to it (one
   * socket is in a room once, and its latest subscribe is what the gateway counts).
   */
  metricsInterval?(serverId: string): number | undefined;
  /** The gateway confirmed the interval a server's samples come at: every subscription to it is told. */
  confirmedInterval?(serverId: string, intervalMs: number): void;
}

type Timer = ReturnType<typeof setTimeout>;
type Phase = 'pending' | 'active' | 'ended';

export abstract class Channel {
  abstract readonly kind: 'metrics' | 'logs' | 'system' | 'alerts' | 'fleet';
  readonly serverId: string;
  protected readonly host: ChannelHost;
  readonly #onError: ((err: VigilClientError) => void) | undefined;
  /** Settles with the first confirmation (or the failure that ended the channel before it). */
  readonly confirmed: Promise<void>;
  #confirm!: () => void;
  #refuse!: (err: VigilClientError) => void;
  #phase: Phase = 'pending';
  #endedBy: VigilClientError | null = null;
  /** Each join takes a new generation; an answer to an older one is ignored. */
  #generation = 0;
  #retries = 0;
  #retryTimer: Timer | undefined;

  constructor(host: ChannelHost, serverId: string, onError: ((err: VigilClientError) => void) | undefined) {
    this.host = host;
    this.serverId = serverId;
    this.#onError = onError;
    this.confirmed = new Promise<void>((resolve, reject) => {
      this.#confirm = resolve;
      this.#refuse = reject;
    });
  }

  get active(): boolean {
    return this.#phase === 'active';
  }

  get ended(): boolean {
    return this.#phase === 'ended';
  }

  /** Sends what (re)joins the gateway's room(s). `current()` turns false once this join is superseded. */
  protected abstract exchange(current: () => boolean): Promise<void>;

  /** (Re)joins now if connected; otherwise the next connect will. Resolves when this join is settled or superseded. */
  async join(): Promise<void> {
    if (this.ended) return;
    const generation = ++this.#generation;
    clearTimeout(this.#retryTimer);
    if (!this.host.connected) return;
    const current = () => generation === this.#generation && !this.ended;
    try {
      await this.exchange(current);
    } catch (err) {
      if (!current()) return;
      const error = toClientError(err);
      if (error.transient) {
        // Disconnected: the reconnect joins again. Otherwise (rate limited, Redis away, timeout) retry here.
        if (this.host.connected) this.#scheduleRetry(error);
        return;
      }
      this.#fail(error);
      return;
    }
    if (!current()) return;
    this.#retries = 0;
    if (this.#phase === 'pending') {
      this.#phase = 'active';
      this.#confirm();
    }
  }

  /** Throws the error that ended this channel, if one did. */
  protected throwIfFailed(): void {
    if (this.#endedBy && this.#endedBy.code !== ClientErrorCodes.CANCELLED) throw this.#endedBy;
  }

  /** Stops the channel: no more deliveries or retries; a pending first confirmation is refused with `reason`. */
  end(reason: VigilClientError): void {
    if (this.ended) return;
    this.#phase = 'ended';
    this.#endedBy = reason;
    this.#generation++;
    clearTimeout(this.#retryTimer);
    this.#refuse(reason);
  }

  async unsubscribe(): Promise<void> {
    if (this.ended) return;
    this.end(new VigilClientError(ClientErrorCodes.CANCELLED, `unsubscribed from ${this.serverId} before the gateway confirmed`));
    await this.host.release(this);
  }

  /** An exception in a user's handler is logged, never thrown into the client. */
  protected handlerFailed = (err: unknown): void => {
    this.host.logger.error({ serverId: this.serverId, kind: this.kind, err }, 'subscription handler threw');
  };

  #scheduleRetry(error: VigilClientError): void {
    const delay = this.host.retryDelay(this.#retries++);
    this.host.logger.debug({ serverId: this.serverId, kind: this.kind, code: error.code, delay }, 'join failed; retrying');
    this.#retryTimer = setTimeout(() => void this.join(), delay);
  }

  /** Ends the channel as refused by the gateway (e.g. a refreshed token no longer allows it), calling onError if it was active. */
  refuse(error: VigilClientError): void {
    if (!this.ended) this.#fail(error);
  }

  #fail(error: VigilClientError): void {
    const wasActive = this.#phase === 'active';
    this.host.logger.warn({ serverId: this.serverId, kind: this.kind, code: error.code }, `subscription ended: ${error.message}`);
    this.end(error);
    void this.host.release(this);
    if (wasActive && this.#onError) {
      try {
        this.#onError(error);
      } catch (err) {
        this.handlerFailed(err);
      }
    }
  }
}

export function invalidPayload(message: string): VigilClientError {
  return new VigilClientError(ErrorCodes.INVALID_PAYLOAD, message);
}
