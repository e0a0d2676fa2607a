// A token bucket: `burst` at once, refilled at `perSecond`. Used for a client's event budget
// (gateway) and a server's log-line budget (collector).
export type Rate = { perSecond: number; burst: number };

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: Rate, now: number) {
    this.#perMs = rate.perSecond / 1000;
    this.#burst = rate.burst;
    this.#tokens = rate.burst;
    this.#at = now;
  }

  /** Takes one token if there is one (`now` in ms; time never runs back here). */
  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
