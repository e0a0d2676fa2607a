// Who may open a Socket.IO or /ws connection, checked before the gateway spends anything on it:
// an engine.io middleware (polling requests and WebSocket upgrades alike) and `check` for /ws.
// - Every request that carries an Origin must carry a public one (a polling session's POSTs
//   carry it even when its handshake did not), else 403 VIGIL_ERR_ORIGIN_REFUSED.
// - Handshakes, per client address: at most `maxPerAddress` open connections and a handshake
//   rate (a token bucket), else 429 VIGIL_ERR_TOO_MANY_CONNECTIONS.
// The JWT check of the handshake belongs to a Socket.IO middleware after this one.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { ErrorCodes, type ErrorCode } from '@vigil/protocol';
import { TokenBucket } from '@vigil/protocol/runtime';
import { clientAddress, type TrustFunction } from './client-address.js';
import type { PublicOrigins } from './public-origins.js';

export type ConnectionLimits = { maxPerAddress: number; handshakesPerSecond: number };

type EngineRequest = IncomingMessage & { _query?: Record<string, string | undefined>; [kAddress]?: string };
type EngineConnection = { request: IncomingMessage; once(event: 'close', fn: () => void): unknown };
/** A refusal, answered the same way every time: its bytes are built once, not per refused request. */
type Refusal = { status: number; code: ErrorCode; message: string; body: Buffer; upgrade: Buffer; error: Error };

const kAddress = Symbol('vigil.clientAddress');
/** Buckets idle this long are full again: forgetting them loses nothing. */
const BUCKET_IDLE_MS = 60_000;
const MAX_TRACKED = 100_000;
/** Refused origins are logged at this rate at most: a hostile page can make browsers try thousands of times. */
const ORIGIN_LOG_RATE = { perSecond: 1, burst: 10 };

export class ConnectionGuard {
  readonly #origins: PublicOrigins;
  readonly #trust: TrustFunction;
  readonly #limits: ConnectionLimits;
  readonly #logger: Logger;
  readonly #onRefuse: (code: ErrorCode) => void;
  readonly #open = new Map<string, number>();
  readonly #buckets = new Map<string, { bucket: TokenBucket; at: number }>();
  #pruneAt = 0;
  readonly #originLog = new TokenBucket(ORIGIN_LOG_RATE, Date.now());
  #originUnlogged = 0;
  // 2,000 attempts at once from one address are 2,000 refusals in a row: each costs a lookup and
  // two syscalls (write, close), nothing built or logged per refusal.
  readonly #originRefused = refusal(403, ErrorCodes.ORIGIN_REFUSED, 'this origin may not connect; see VIGIL_PUBLIC_ORIGINS');
  readonly #tooManyOpen: Refusal;
  readonly #tooFast: Refusal;

  constructor(options: { origins: PublicOrigins; trust: TrustFunction; limits: ConnectionLimits; logger: Logger; onRefuse?(code: ErrorCode): void }) {
    this.#origins = options.origins;
    this.#trust = options.trust;
    this.#limits = options.limits;
    this.#logger = options.logger;
    this.#onRefuse = options.onRefuse ?? (() => {});
    this.#tooManyOpen = refusal(429, ErrorCodes.TOO_MANY_CONNECTIONS, `at most ${this.#limits.maxPerAddress} connections per address`);
    this.#tooFast = refusal(429, ErrorCodes.TOO_MANY_CONNECTIONS, `at most ${this.#limits.handshakesPerSecond} handshakes per second per address`);
  }

  /** engine.io middleware: `engine.use(guard.middleware)`. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: Error) => void): void => {
    const refusal = this.#check(req as EngineRequest);
    if (!refusal) {
      next();
      return;
    }
    this.#onRefuse(refusal.code);
    refuse(req, res, refusal);
    next(refusal.error);
  };

  /** The same checks for a `/ws` upgrade (a Fastify hook answers it): null, or the refusal to answer with. */
  check(req: IncomingMessage): Pick<Refusal, 'status' | 'code' | 'message'> | null {
    const refusal = this.#check(req as EngineRequest);
    if (refusal) this.#onRefuse(refusal.code);
    return refusal;
  }

  /** Counts an open connection against its address until it closes: `engine.on('connection', guard.track)`. */
  readonly track = (conn: EngineConnection): void => {
    const address = this.addressOf(conn.request);
    this.#open.set(address, (this.#open.get(address) ?? 0) + 1);
    conn.once('close', () => {
      const n = (this.#open.get(address) ?? 1) - 1;
      if (n <= 0) this.#open.delete(address);
      else this.#open.set(address, n);
    });
  };

  /** The client address of a request (behind trusted proxies, the one they forwarded). */
  addressOf(req: IncomingMessage): string {
    const r = req as EngineRequest;
    return (r[kAddress] ??= clientAddress(req, this.#trust));
  }

  /** Open connections from one address. */
  openFrom(address: string): number {
    return this.#open.get(address) ?? 0;
  }

  #check(req: EngineRequest): Refusal | null {
    const origin = req.headers.origin;
    if (!this.#origins.allows(origin)) {
      if (this.#originLog.take(Date.now())) {
        this.#logger.warn({ code: ErrorCodes.ORIGIN_REFUSED, origin: String(origin).slice(0, 200), unlogged: this.#originUnlogged }, 'socket request refused: origin not allowed');
        this.#originUnlogged = 0;
      } else this.#originUnlogged++;
      return this.#originRefused;
    }
    if (req._query?.sid !== undefined) return null; // a request of an open session
    const address = this.addressOf(req);
    if (this.openFrom(address) >= this.#limits.maxPerAddress) {
      return this.#tooManyOpen;
    }
    if (!this.#bucket(address).take(Date.now())) {
      return this.#tooFast;
    }
    return null;
  }

  #bucket(address: string): TokenBucket {
    const now = Date.now();
    if (now >= this.#pruneAt || this.#buckets.size >= MAX_TRACKED) this.#prune(now);
    let entry = this.#buckets.get(address);
    if (!entry) {
      const rate = this.#limits.handshakesPerSecond;
      entry = { bucket: new TokenBucket({ perSecond: rate, burst: Math.max(1, Math.ceil(rate * 2)) }, now), at: now };
      this.#buckets.set(address, entry);
    }
    entry.at = now;
    return entry.bucket;
  }

  #prune(now: number): void {
    this.#pruneAt = now + BUCKET_IDLE_MS;
    for (const [address, entry] of this.#buckets) if (now - entry.at >= BUCKET_IDLE_MS) this.#buckets.delete(address);
    // Still too many (a flood of distinct addresses): start over; an address gains one burst at most.
    if (this.#buckets.size >= MAX_TRACKED) this.#buckets.clear();
  }
}

function refusal(status: number, code: ErrorCode, message: string): Refusal {
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  const head = `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Too Many Requests'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  // engine.io only needs to know the middleware failed; one error per kind, no stack per refusal.
  const error = new Error(code);
  error.stack = code;
  return { status, code, message, body, upgrade: Buffer.concat([Buffer.from(head), body]), error };
}

/** Answers a refused request with vigil's error shape: an HTTP response, or on an upgrade the raw socket. */
function refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  // On an upgrade engine.io hands middlewares a stand-in response: answer on the socket itself.
  if (res instanceof ServerResponse) {
    if (!res.headersSent) res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': r.body.length });
    res.end(r.body);
    return;
  }
  const socket = req.socket;
  if (socket.writable) socket.write(r.upgrade);
  socket.destroy();
}
