// A subscription to one host's samples (CPU, load, memory, network, mounts). A (re)join brings the
// latest sample; anything at or before the last delivered position is dropped, so samples only
// move forward.
import { ClientEvents, comparePositions, type SystemMetricsEvent } from '@vigil/protocol';
import { callSafely } from './emitter.js';
import type { VigilClientError } from './errors.js';
import { Channel, type ChannelHost } from './subscription.js';

export type SystemMetricsOptions = {
  /** Sampling interval the dashboard wants, in ms; echoed by the gateway. */
  interval?: number;
  onSample?(event: SystemMetricsEvent): void;
  /** The subscription ended after a permanent refusal on a re-join (e.g. a permission revoked). */
  onError?(error: VigilClientError): void;
};

export interface SystemMetricsSubscription {
  readonly kind: 'system';
  readonly host: string;
  /** True from the gateway's first confirmation until unsubscribe(), close() or a permanent failure. */
  readonly active: boolean;
  /** Position of the last sample delivered to the handler, or null. */
  readonly lastPosition: string | null;
  /** Stops delivery at once and leaves the gateway's room. */
  unsubscribe(): Promise<void>;
}

export class SystemMetricsChannel extends Channel {
  readonly kind = 'system' as const;
  readonly #options: SystemMetricsOptions;
  #last: string | null = null;
  readonly view: SystemMetricsSubscription;

  /** The channel's key (`serverId` in the shared join cycle) is the host name. */
  constructor(host: ChannelHost, hostName: string, options: SystemMetricsOptions) {
    super(host, hostName, options.onError);
    this.#options = options;
    const self = this;
    this.view = Object.freeze({
      kind: 'system' as const,
      host: hostName,
      get active() {
        return self.active;
      },
      get lastPosition() {
        return self.#last;
      },
      unsubscribe: () => self.unsubscribe(),
    });
  }

  protected async exchange(): Promise<void> {
    const interval = this.#options.interval;
    const ack = await this.host.request(ClientEvents.subscribeSystemMetrics, {
      host: this.serverId,
      ...(interval === undefined ? {} : { interval }),
    });
    if (ack.warning) this.host.logger.warn({ host: this.serverId, code: ack.warning.code }, ack.warning.message);
  }

  receive(event: SystemMetricsEvent): void {
    if (this.ended) return;
    if (this.#last !== null && comparePositions(event.position, this.#last) <= 0) return;
    this.#last = event.position;
    callSafely(this.#options.onSample, event, this.handlerFailed);
  }
}
