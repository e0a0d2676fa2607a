// The token of a connection: where it comes from (a string, or a provider the application gives),
// what goes into the handshake of every (re)connect, and the refresh when the gateway warns that
// it is about to expire. The gateway verifies tokens; the client only carries them.
import { ErrorCodes, parseRoom, type ParsedRoom, type TokenRefreshed } from '@vigil/protocol';
import { ClientErrorCodes, VigilClientError, toClientError } from './errors.js';
import type { ClientLogger } from './logger.js';

/** A token, or a function that returns the current one (asked at every handshake and before expiry). */
export type TokenSource = string | (() => string | Promise<string>);

export type HandshakeAuth = Record<string, unknown> | ((cb: (data: Record<string, unknown>) => void) => void);

/** What the keeper needs from the client that owns it. */
export interface TokenHost {
  readonly logger: ClientLogger;
  refresh(token: string): Promise<TokenRefreshed>;
  /** The gateway left these rooms because the new token does not allow them. */
  forbid(rooms: ParsedRoom[]): void;
  refreshed(result: TokenRefreshed): void;
  refreshFailed(error: VigilClientError): void;
}

export class TokenKeeper {
  readonly #host: TokenHost;
  #source: TokenSource | null;
  /** The token the gateway holds for this connection: sent at the last handshake or accepted by the last refresh. */
  #inUse: string | null = null;
  #refreshing: Promise<void> | null = null;

  constructor(host: TokenHost, source: TokenSource | null) {
    this.#host = host;
    this.#source = source;
  }

  get hasSource(): boolean {
    return this.#source !== null;
  }

  /** `null` (signing out) forgets the token in use too: the connection that held it is being closed. */
  set source(source: TokenSource | null) {
    this.#source = source;
    if (source === null) this.#inUse = null;
  }

  /**
   * socket.io's `auth` for every (re)connect: the caller's own fields, the current token, and
   * `vigilRestore: false` (the client re-joins its subscriptions itself, resuming logs from the last
   * line it delivered, so the gateway need not restore the previous connection's rooms).
   */
  handshake(auth: HandshakeAuth | undefined): (cb: (data: Record<string, unknown>) => void) => void {
    const base = (done: (data: Record<string, unknown>) => void) => (typeof auth === 'function' ? auth(done) : done({ ...auth }));
    return (cb) =>
      base((data) => {
        void this.#current().then((token) => {
          this.#inUse = token;
          cb({ ...data, ...(token === null ? {} : { token }), vigilRestore: false });
        });
      });
  }

  /**
   * Asks the source for a token and hands it to the gateway with `refresh-token`; at most one at a
   * time. A source that has nothing newer than the token in use is a failure: the connection ends
   * at expiry unless the application gives a new token (setToken) before then.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const token = await this.#current();
    if (token === null || token === this.#inUse) {
      const error = new VigilClientError(ClientErrorCodes.TOKEN_UNAVAILABLE, 'the token provider has no new token');
      this.#host.refreshFailed(error);
      throw error;
    }
    let result: TokenRefreshed;
    try {
      result = await this.#host.refresh(token);
    } catch (err) {
      const error = toClientError(err);
      this.#host.logger.warn({ code: error.code }, `token refresh refused: ${error.message}`);
      this.#host.refreshFailed(error);
      throw error;
    }
    this.#inUse = token;
    const left = result.left.map(parseRoom).filter((room): room is ParsedRoom => room !== null);
    if (left.length > 0) this.#host.forbid(left);
    this.#host.refreshed(result);
  }

  /** The source's token now, or null (none given, or the provider failed: the gateway will say so). */
  async #current(): Promise<string | null> {
    const source = this.#source;
    if (source === null) return null;
    try {
      const token = typeof source === 'function' ? await source() : source;
      return typeof token === 'string' && token !== '' ? token : null;
    } catch (err) {
      this.#host.logger.warn({ err: toClientError(err).message }, 'the token provider threw');
      return null;
    }
  }
}

/** The error that ends a subscription whose room a refreshed token no longer allows. */
export function forbiddenBy(room: ParsedRoom): VigilClientError {
  return new VigilClientError(ErrorCodes.FORBIDDEN, `the new token does not allow the ${room.kind} of ${room.serverId}`);
}
