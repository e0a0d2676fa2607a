// Who is signed in: the token (kept in sessionStorage, so it lives as long as the tab and never in
// the address bar, history or a server log), what it says about its holder (decoded here without
// verifying: the gateway verifies), and why the sign-in screen is shown when it is.
import { TOKEN_MAX_LENGTH, VigilClaim, compile, parseJson } from '@vigil/protocol';
import { Observable } from './observable.js';

const TOKEN_KEY = 'vigil.token';
/** `#token=<jwt>` opens the dashboard signed in; the fragment is removed at once. */
const FRAGMENT = /^#token=([^&]+)/;

/** What a token says about its holder, as far as the dashboard can read it. */
export type Identity = {
  subject: string;
  servers: string[];
  logs: boolean;
  /** Epoch ms, or null when the token says no expiry. */
  expiresAt: number | null;
};

export type SessionState =
  /** No token: the gateway may not need one (with auth off it does not). */
  | { name: 'anonymous' }
  | { name: 'signed-in'; token: string; identity: Identity | null }
  /** The sign-in screen, with why (null after a sign-out the user asked for). */
  | { name: 'signed-out'; reason: string | null };

const claimShape = compile(VigilClaim, { codegen: false });

export class Session extends Observable {
  readonly #storage: Storage;
  #state: SessionState;
  /** The gateway warned of expiry and no new token has come yet: the time it ends, epoch ms. */
  #expiringAt: number | null = null;

  constructor(storage: Storage) {
    super();
    this.#storage = storage;
    const token = read(storage);
    this.#state = token === null ? { name: 'anonymous' } : signedIn(token);
  }

  get state(): SessionState {
    return this.#state;
  }

  get token(): string | null {
    return this.#state.name === 'signed-in' ? this.#state.token : null;
  }

  /** The client's token provider ('' is no token): asked at every handshake and when the gateway warns of expiry. */
  readonly provider = (): string => this.token ?? '';

  get expiringAt(): number | null {
    return this.#expiringAt;
  }

  /** Stores a pasted token; the error message says what is wrong with it, if anything. */
  signIn(text: string): string | null {
    const token = text.trim();
    if (token === '') return 'Paste a token first.';
    if (token.length > TOKEN_MAX_LENGTH) return `That is longer than any token (${TOKEN_MAX_LENGTH} characters at most).`;
    if (/\s/.test(token)) return 'A token has no spaces or line breaks inside.';
    this.#storage.setItem(TOKEN_KEY, token);
    this.#expiringAt = null;
    this.#set(signedIn(token));
    return null;
  }

  /** Forgets the token and shows the sign-in screen, saying why when the gateway decided it. */
  signOut(reason: string | null = null): void {
    this.#storage.removeItem(TOKEN_KEY);
    this.#expiringAt = null;
    this.#set({ name: 'signed-out', reason });
  }

  expiring(expiresAt: string): void {
    const at = Date.parse(expiresAt);
    this.#expiringAt = Number.isFinite(at) ? at : Date.now();
    this.changed();
  }

  refreshed(): void {
    this.#expiringAt = null;
    this.changed();
  }

  #set(state: SessionState): void {
    this.#state = state;
    this.changed();
  }
}

/**
 * Takes a `#token=` fragment out of the address bar (replaceState: no history entry keeps it) and
 * returns its token, or null when there is none.
 */
export function takeFragmentToken(): string | null {
  const match = FRAGMENT.exec(location.hash);
  if (!match) return null;
  history.replaceState(history.state, '', `${location.pathname}${location.search}#/`);
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

function read(storage: Storage): string | null {
  const token = storage.getItem(TOKEN_KEY);
  return token === null || token === '' ? null : token;
}

function signedIn(token: string): SessionState {
  return { name: 'signed-in', token, identity: identityOf(token) };
}

/** Reads a JWT's payload (`sub`, `exp`, the `vigil` claim) without verifying it; null if it is not one. */
function identityOf(token: string): Identity | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    text = new TextDecoder().decode(bytes);
  } catch {
    return null; // not base64url
  }
  const claims = parseJson(text) as { sub?: unknown; exp?: unknown; vigil?: unknown } | null | undefined;
  if (typeof claims !== 'object' || claims === null) return null;
  const vigil = claimShape.check(claims.vigil) ? claims.vigil : { servers: [] };
  return {
    subject: typeof claims.sub === 'string' ? claims.sub : '(no subject)',
    servers: vigil.servers,
    logs: vigil.logs === true,
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
  };
}
