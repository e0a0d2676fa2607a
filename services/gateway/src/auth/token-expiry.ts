// A socket's token lifetime: one timer per socket that first warns (`token-expiring`, a lead
// before expiry) and then ends the connection (`disconnect-reason` TOKEN_EXPIRED) unless a refresh
// re-arms it first. Cleared on disconnect.
import type { Client } from '../client.js';
import { ErrorCodes, ServerEvents, type DisconnectReason, type TokenExpiring } from '@vigil/protocol';

/** setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): longer waits are taken in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class TokenExpiry {
  readonly #client: Client;
  readonly #warningMs: number;
  #timer: NodeJS.Timeout | undefined;
  #expiresAt = Infinity;
  #warned = false;

  constructor(client: Client, warningMs: number) {
    this.#client = client;
    this.#warningMs = warningMs;
    client.onClose(() => this.clear());
  }

  /** (Re)starts the clock for a token that expires at `expiresAt` (epoch ms; Infinity: never). */
  arm(expiresAt: number): void {
    this.clear();
    this.#expiresAt = expiresAt;
    this.#warned = false;
    this.#schedule();
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (!Number.isFinite(this.#expiresAt) || !this.#client.connected) return;
    const now = Date.now();
    const at = this.#warned ? this.#expiresAt : this.#expiresAt - this.#warningMs;
    const delay = Math.min(Math.max(0, at - now), MAX_DELAY_MS);
    this.#timer = setTimeout(() => this.#fire(), delay);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = Date.now();
    if (now >= this.#expiresAt) {
      const reason: DisconnectReason = { code: ErrorCodes.TOKEN_EXPIRED, message: `token expired at ${new Date(this.#expiresAt).toISOString()}; sign in again` };
      this.#client.end(reason);
      return;
    }
    if (!this.#warned && now >= this.#expiresAt - this.#warningMs) {
      this.#warned = true;
      const warning: TokenExpiring = { expiresAt: new Date(this.#expiresAt).toISOString() };
      this.#client.emit(ServerEvents.tokenExpiring, warning);
    }
    this.#schedule(); // the next step, or the rest of a wait longer than one timer can hold
  }
}
