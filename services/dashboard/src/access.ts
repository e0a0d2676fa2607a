// Signing in and out as the whole page sees it: the session's token is what the client sends in
// every handshake and refresh and what REST sends as a bearer; a refusal or an expiry, from the
// socket or from REST, ends the session with a message saying why; the expiry warning is shown.
import { ErrorCodes } from '@vigil/protocol';
import type { VigilClient } from '@vigil/client';
import type { Session } from './session.js';

export class Access {
  readonly session: Session;
  readonly #client: VigilClient;

  constructor(session: Session, client: VigilClient) {
    this.session = session;
    this.#client = client;
  }

  /** Follows the client; returns the function that stops following. */
  start(): () => void {
    const offs = [
      this.#client.on('state', (state) => {
        if (state.name === 'unauthorized') this.refused(state.code, state.message);
      }),
      this.#client.on('token-expiring', ({ expiresAt }) => this.session.expiring(expiresAt)),
      this.#client.on('token-refreshed', () => this.session.refreshed()),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Stores the token and connects (or refreshes) with it; resolves with what went wrong, or null. */
  async signIn(text: string): Promise<string | null> {
    const invalid = this.session.signIn(text);
    if (invalid !== null) return invalid;
    try {
      await this.#client.setToken(this.session.provider);
      return null;
    } catch (err) {
      return `The gateway did not accept this token: ${(err as Error).message}`;
    }
  }

  /** Forgets the token, drops the connection and shows the sign-in screen. */
  signOut(reason: string | null = null): void {
    this.session.signOut(reason);
    void this.#client.setToken(null);
  }

  /** The gateway refused the token (socket or REST): back to the sign-in screen, saying why. */
  refused(code: string, message: string): void {
    if (this.session.state.name === 'signed-out') return;
    this.signOut(refusalText(code, message, this.session.token !== null));
  }
}

function refusalText(code: string, message: string, hadToken: boolean): string {
  if (code === ErrorCodes.TOKEN_EXPIRED) return 'Your sign-in has expired. Paste a new token to continue.';
  if (!hadToken) return 'This gateway needs a token: paste one to sign in.';
  return `The gateway refused this token (${message}). Paste another one.`;
}

/** A refusal because of what the token allows (socket ack or REST 403). */
export function isForbidden(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === ErrorCodes.FORBIDDEN;
}
