// A subscription to one server's samples and status changes. A (re)join brings the latest sample;
// anything at or before the last delivered position is dropped, so samples only move forward.
import {
  ClientEvents,
  comparePositions,
  isPosition,
  type ProcessInfoEvent,
  type StatusChangeEvent,
} from '@vigil/protocol';
import { callSafely } from './emitter.js';
import type { VigilClientError } from './errors.js';
import { Channel, type ChannelHost, type MetricsSubscription } from './subscription.js';

export type MetricsOptions = {
  /** Sampling interval the dashboard wants, in ms (INTERVAL_MIN_MS..INTERVAL_MAX_MS); echoed by the gateway. */
  interval?: number;
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
  readonly view: MetricsSubscription;

  constructor(host: ChannelHost, serverId: string, options: MetricsOptions) {
    super(host, serverId, options.onError);
    this.#options = options;
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
      unsubscribe: () => self.unsubscribe(),
    });
  }

  protected async exchange(): Promise<void> {
    const interval = this.#options.interval;
    const ack = await this.host.request(ClientEvents.subscribeServerMetrics, {
      serverId: this.serverId,
      ...(interval === undefined ? {} : { interval }),
    });
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
