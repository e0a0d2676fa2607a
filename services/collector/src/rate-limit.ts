// A token bucket: `burst` lines at once, refilled at `linesPerSecond`. One per server with logs.
export type RateLimit = { linesPerSecond: number; burst: number };

export const DEFAULT_LOG_RATE_LIMIT: RateLimit = { linesPerSecond: 1000, burst: 5000 };

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(limit: RateLimit, now: number) {
    this.#perMs = limit.linesPerSecond / 1000;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#at = now;
  }

  /** Takes one token if there is one (`now` in ms, monotonic or not: time never runs back here). */
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
