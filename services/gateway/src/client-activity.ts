// One connected client's activity: when it came, when it last spoke, and its event budget, so
// one noisy client cannot starve the others.
import { TokenBucket, type Rate } from '@vigil/protocol/runtime';

export class ClientActivity {
  readonly connectedAt: string;
  lastActivity: string;
  readonly #budget: TokenBucket;

  constructor(now: number, rate: Rate) {
    this.connectedAt = new Date(now).toISOString();
    this.lastActivity = this.connectedAt;
    this.#budget = new TokenBucket(rate, now);
  }

  /** Records activity and spends one event of the budget; false when the client is over its rate. */
  admit(now: number): boolean {
    this.lastActivity = new Date(now).toISOString();
    return this.#budget.take(now);
  }
}
