// A subscription to one server's samples and status changes. A (re)join brings the latest sample;
// anything at or before the last delivered position is dropped, so samples only move forward.
import {
  ClientEvents,
  comparePositions,
  isPosition,
  type ProcessInfoEvent,
  type StatusChangeEvent,
} from '@vigil/protocol';
import { INTERVAL_MAX_MS, INTERVAL_MIN_MS } from '@vigil/protocol';
import { callSafely } from './emitter.js';
import type { VigilClientError } from './errors.js';
import { Channel, invalidPayload, type ChannelHost, type MetricsSubscription } from './subscription.js';

export type MetricsOptions = {
  /**
   * Sampling interval wanted, in ms (INTERVAL_MIN_MS..INTERVAL_MAX_MS): the server's collector samples
   * at least this often while the subscription lasts, down to the server's minimum. Default: its configured interval.
   */
  interval?: number;
  /** The interval samples come at, each time the gateway confirms a different one. */
  onInterval?(intervalMs: number): void;
  onSample?(event: ProcessInfoEvent): void;
  onStatus?(event: StatusChangeEvent): void;
  /** The subscription ended after a permanent refusal on a re-join (e.g. a permission revoked). */
  onError?(error: VigilClientError): void;
};

export class MetricsChannel extends Channel {
  readonly kind = 'metrics' as const;
  readonly #options: MetricsOptions;
  #lastSample: string | null = null;
  #lastStatusPosition: string | null = null;
  #lastStatus: string | null = null;
  #asked: number | undefined;
  #confirmedInterval: number | null = null;
  readonly view: MetricsSubscription;

  constructor(host: ChannelHost, serverId: string, options: MetricsOptions) {
    super(host, serverId, options.onError);
    this.#options = options;
    this.#asked = options.interval;
    const self = this;
    this.view = Object.freeze({
      kind: 'metrics' as const,
      serverId,
      get active() {
        return self.active;
      },
      get lastPosition() {
        return self.#lastSample;
      },
      get asked() {
        return self.#asked;
      },
      get interval() {
        return self.#confirmedInterval;
      },
      setInterval: (interval: number | undefined) => self.setInterval(interval),
      unsubscribe: () => self.unsubscribe(),
    });
  }

  /** The interval this subscription asks for (undefined: the configured one). */
  get asked(): number | undefined {
    return this.#asked;
  }

  async setInterval(interval: number | undefined): Promise<number | null> {
    checkInterval(interval);
    this.throwIfFailed();
    if (this.ended) return this.#confirmedInterval;
    if (interval !== this.#asked) {
      this.#asked = interval;
      await this.join();
      this.throwIfFailed();
    }
    return this.#confirmedInterval;
  }

  /** The gateway confirmed the interval samples come at (this subscription's join, or another's of the same server). */
  confirmInterval(intervalMs: number): void {
    if (this.ended || intervalMs === this.#confirmedInterval) return;
    this.#confirmedInterval = intervalMs;
    callSafely(this.#options.onInterval, intervalMs, this.handlerFailed);
  }

  protected async exchange(): Promise<void> {
    const interval = this.host.metricsInterval ? this.host.metricsInterval(this.serverId) : this.#asked;
    const ack = await this.host.request(ClientEvents.subscribeServerMetrics, {
      serverId: this.serverId,
      ...(interval === undefined ? {} : { interval }),
    });
    if (this.host.confirmedInterval) this.host.confirmedInterval(this.serverId, ack.interval);
    else this.confirmInterval(ack.interval);
    if (ack.warning) this.host.logger.warn({ serverId: this.serverId, code: ack.warning.code }, ack.warning.message);
  }

  receiveSample(event: ProcessInfoEvent): void {
    if (this.ended) return;
    if (this.#lastSample !== null && comparePositions(event.position, this.#lastSample) <= 0) return;
    this.#lastSample = event.position;
    callSafely(this.#options.onSample, event, this.handlerFailed);
  }

  /**
   * Collector-observed changes carry a position and are ordered by it. `stale` (and its end) is
   * derived by gateways and carries none; it is re-announced on every re-join, so a positionless
   * event that repeats the last delivered status is dropped.
   */
  receiveStatus(event: StatusChangeEvent): void {
    if (this.ended) return;
    const position = event.position;
    if (isPosition(position)) {
      if (this.#lastStatusPosition !== null && comparePositions(position, this.#lastStatusPosition) <= 0) return;
      this.#lastStatusPosition = position;
    } else if (event.status === this.#lastStatus) {
      return;
    }
    this.#lastStatus = event.status;
    callSafely(this.#options.onStatus, event, this.handlerFailed);
  }
}

/** Throws for an interval the gateway would refuse. */
export function checkInterval(interval: number | undefined): void {
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= INTERVAL_MIN_MS && interval <= INTERVAL_MAX_MS)) {
    throw invalidPayload(`interval must be an integer number of ms in ${INTERVAL_MIN_MS}..${INTERVAL_MAX_MS}`);
  }
}
