// What the gateway knows about one connected client: when it came, when it last spoke, and
// its event budget (a token bucket), so one noisy client cannot starve the others.
export class ClientSession {
  readonly connectedAt: string;
  lastActivity: string;
  #tokens: number;
  #refilledAt: number;
  readonly #perSecond: number;
  readonly #burst: number;

  constructor(now: number, limits: { perSecond: number; burst: number }) {
    this.connectedAt = new Date(now).toISOString();
    this.lastActivity = this.connectedAt;
    this.#perSecond = limits.perSecond;
    this.#burst = limits.burst;
    this.#tokens = limits.burst;
    this.#refilledAt = now;
  }

  /** Records activity and spends one token; false when the client is over its rate. */
  admit(now: number): boolean {
    this.lastActivity = new Date(now).toISOString();
    const elapsed = Math.max(0, now - this.#refilledAt) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
