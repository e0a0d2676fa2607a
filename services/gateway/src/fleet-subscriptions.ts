// subscribe-fleet / unsubscribe-fleet, for both transports, and the gateway's fleet loop: while at
// least one client of this gateway subscribes, the view (fleet-view.ts) is read once a second and
// each subscriber is sent what changed for it (fleet-subscriber.ts); with none, nothing runs.
import type { Logger } from 'pino';
import { ErrorCodes, FLEET_REFRESH_MS, VigilError, type SubscribeFleet } from '@vigil/protocol';
import type { Client } from './client.js';
import { FleetSubscriber, SharedDeltas } from './fleet-subscriber.js';
import type { FleetView } from './fleet-view.js';
import { Periodic } from './periodic.js';

/** Most failed reads in a row that are logged one by one (then one line per minute). */
const LOGGED_FAILURES = 3;

export class FleetHub {
  readonly #view: FleetView;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  readonly #subscribers = new Map<Client, FleetSubscriber>();
  /** Clients whose close already unsubscribes them: one hook each, however often they subscribe. */
  readonly #hooked = new WeakSet<Client>();
  readonly #emitMany: ((clients: readonly Client[], event: string, data: unknown) => void) | undefined;
  #loop: Periodic | null = null;
  #failures = 0;
  #closed = false;

  /**
   * `emitMany`: sends one event to several clients of this gateway with one encoding (a local
   * broadcast to their own rooms); without it, each client is sent its own copy.
   */
  constructor(view: FleetView, logger: Logger, refreshMs = FLEET_REFRESH_MS, emitMany?: (clients: readonly Client[], event: string, data: unknown) => void) {
    this.#view = view;
    this.#logger = logger;
    this.#refreshMs = refreshMs;
    this.#emitMany = emitMany;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Subscribes (or re-filters) a client: its snapshot is sent before this resolves with its total. */
  async subscribe(client: Client, filter: SubscribeFleet): Promise<number> {
    if (this.#closed) throw new VigilError(ErrorCodes.SHUTTING_DOWN, 'the gateway is shutting down');
    if (!client.connected) return 0;
    let subscriber = this.#subscribers.get(client);
    if (!subscriber) {
      subscriber = new FleetSubscriber(client);
      this.#subscribers.set(client, subscriber);
      if (!this.#hooked.has(client)) {
        this.#hooked.add(client);
        client.onClose(() => this.unsubscribe(client));
      }
      this.#start();
    }
    try {
      await this.#view.fresh(this.#refreshMs + this.#refreshMs / 2);
    } catch (err) {
      this.#logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'fleet view could not be read');
      throw new VigilError(ErrorCodes.REDIS_UNAVAILABLE, 'the fleet could not be read now; try again');
    }
    // Gone (or unsubscribed) while the view was read.
    if (this.#subscribers.get(client) !== subscriber) return 0;
    return subscriber.subscribe(this.#view, filter?.filter);
  }

  /** Whether the client was subscribed. */
  unsubscribe(client: Client): boolean {
    const subscriber = this.#subscribers.get(client);
    if (!subscriber) return false;
    subscriber.stop();
    this.#subscribers.delete(client);
    if (this.#subscribers.size === 0) this.#stop();
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const subscriber of this.#subscribers.values()) subscriber.stop();
    this.#subscribers.clear();
    this.#stop();
  }

  #start(): void {
    if (this.#loop) return;
    this.#loop = new Periodic(this.#refreshMs, () => this.#tick(), () => undefined);
    this.#loop.start();
    this.#view.keptFresh = true;
  }

  #stop(): void {
    this.#loop?.stop();
    this.#loop = null;
    this.#view.keptFresh = false;
  }

  async #tick(): Promise<void> {
    try {
      await this.#view.read();
      this.#failures = 0;
    } catch (err) {
      const n = ++this.#failures;
      if (n <= LOGGED_FAILURES || n % Math.max(1, Math.round(60_000 / this.#refreshMs)) === 0) {
        this.#logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, failures: n, err: (err as Error).message }, 'fleet view read failed; deltas wait');
      }
      return;
    }
    const shared = new SharedDeltas();
    for (const subscriber of this.#subscribers.values()) subscriber.update(this.#view, shared);
    shared.flush(this.#emitMany);
  }
}
