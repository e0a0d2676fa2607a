// One connected client's activity: when it came, when it last spoke, and its event budget, so
// one noisy client cannot starve the others.
import { TokenBucket, type Rate } from '@vigil/protocol/runtime';

export class ClientActivity {
  readonly connectedAt: string;
  /** Epoch ms; formatted only when asked (get-connection-status), not on every event. */
  #lastActivityMs: number;
  readonly #budget: TokenBucket;

  constructor(now: number, rate: Rate) {
    this.connectedAt = new Date(now).toISOString();
    this.#lastActivityMs = now;
    this.#budget = new TokenBucket(rate, now);
  }

  get lastActivity(): string {
    return new Date(this.#lastActivityMs).toISOString();
  }

  /** Records activity and spends one event of the budget; false when the client is over its rate. */
  admit(now: number): boolean {
    this.#lastActivityMs = now;
    return this.#budget.take(now);
  }
}
