// The browser origins the gateway serves: its public addresses (VIGIL_PUBLIC_ORIGINS), by
// default only the loopback addresses of its own port. A request that carries an Origin must
// carry one of these, on every transport and on REST. Never "Origin equals Host": a DNS-rebinding
// page sends a Host and an Origin that agree, both the attacker's name.
export class PublicOrigins {
  readonly #configured: ReadonlySet<string> | null;
  readonly #port: () => number | undefined;

  /** `configured` undefined: loopback of the port `port()` returns (read per request: known once listening). */
  constructor(configured: readonly string[] | undefined, port: () => number | undefined) {
    this.#configured = configured ? new Set(configured.map(normalize)) : null;
    this.#port = port;
  }

  /** True for no Origin at all (scripts; browsers always send one where it matters) and for a listed one. */
  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.#configured) return this.#configured.has('*') || this.#configured.has(normalize(origin));
    return loopback(this.#port()).includes(normalize(origin));
  }

  /** The list in force, as an operator would write it. */
  list(): string[] {
    return this.#configured ? [...this.#configured] : loopback(this.#port());
  }
}

function loopback(port: number | undefined): string[] {
  if (port === undefined) return [];
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
}

// Browsers send the serialised origin (lower-case scheme and host, default port omitted, no path).
function normalize(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
