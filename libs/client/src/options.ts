// Client options: what createVigilClient() accepts, with defaults, checked once at creation.
import { io as defaultIo, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ErrorCodes, TOKEN_MAX_LENGTH } from '@vigil/protocol';
import { VigilClientError } from './errors.js';
import { browserNetwork, type NetworkStatus } from './network.js';
import type { ClientLogger } from './logger.js';
import type { HandshakeAuth, TokenSource } from './token.js';

export type { ClientLogger } from './logger.js';

/** The shape of socket.io-client's `io`; tests inject their own. */
export type IoFactory = (uri: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;


export type ReconnectionOptions = {
  /** First delay before reconnecting, in ms. Default 500. */
  initialDelayMs?: number;
  /** Cap of the doubling delay, in ms. Default 5000. */
  maxDelayMs?: number;
  /** Jitter: each delay is randomized by ± this fraction. Default 0.5. */
  randomization?: number;
  /** Attempts before giving up (state `offline`, reason `gave-up`). Default Infinity: never. */
  maxAttempts?: number;
};

export type VigilClientOptions = {
  /** Base URL of a gateway or of the load balancer in front of them, e.g. `https://vigil.example`. */
  url: string;
  /** Socket.IO path on that server. Default `/socket.io/`. */
  path?: string;
  /** Default `['websocket', 'polling']`: WebSocket first, long-polling if it cannot be opened. */
  transports?: Array<'websocket' | 'polling'>;
  /** Handshake auth, sent on every (re)connect; a function is asked again each time. */
  auth?: HandshakeAuth;
  /**
   * The token (JWT) the gateway checks, or a provider of the current one: asked for the handshake
   * of every (re)connect and when the gateway warns of expiry (then sent with `refresh-token`).
   */
  token?: TokenSource;
  reconnection?: ReconnectionOptions;
  /** How long a request waits for its ack before it is retried, in ms. Default 10000. */
  ackTimeoutMs?: number;
  /** socket.io-client's `io`. */
  io?: IoFactory;
  logger?: ClientLogger;
  /** Source of online/offline signals. Default: the browser's (`navigator.onLine`); none in Node. */
  network?: NetworkStatus | null;
  /**
   * Reconnects when nothing at all (no event, no engine.io ping) has arrived over an open
   * connection for this many of the gateway's ping intervals (announced in each handshake;
   * 25 s unless the gateway says otherwise). Default 1.5: a live connection carries a ping every
   * interval, and this finds a stuck one before engine.io's own ping timeout. `null`: off.
   */
  silentIntervals?: number | null;
};

export type ResolvedClientOptions = {
  url: string;
  path: string;
  transports: Array<'websocket' | 'polling'>;
  auth: VigilClientOptions['auth'];
  token: TokenSource | null;
  reconnection: Required<ReconnectionOptions>;
  ackTimeoutMs: number;
  io: IoFactory;
  logger: ClientLogger;
  network: NetworkStatus | null;
  silentIntervals: number | null;
};

const silent: ClientLogger = { debug() {}, warn() {}, error() {} };

function invalid(message: string): VigilClientError {
  return new VigilClientError(ErrorCodes.CONFIG_INVALID, `vigil client: ${message}`);
}

function positive(name: string, value: number | undefined, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity));
  if (!ok) throw invalid(`option ${name} must be a positive number, got ${String(value)}`);
  return value;
}

export function resolveOptions(options: VigilClientOptions): ResolvedClientOptions {
  if (typeof options?.url !== 'string' || !/^(https?|wss?):\/\/[^/]/.test(options.url)) {
    throw invalid(`option url must be an absolute http(s) or ws(s) URL, got ${JSON.stringify(options?.url)}`);
  }
  const transports = options.transports ?? ['websocket', 'polling'];
  if (transports.length === 0 || transports.some((t) => t !== 'websocket' && t !== 'polling')) {
    throw invalid(`option transports must list 'websocket' and/or 'polling'`);
  }
  const r = options.reconnection ?? {};
  const randomization = r.randomization ?? 0.5;
  if (!(randomization >= 0 && randomization < 1)) throw invalid('option reconnection.randomization must be in [0, 1)');
  const initialDelayMs = positive('reconnection.initialDelayMs', r.initialDelayMs, 500);
  return {
    url: options.url.replace(/\/+$/, ''),
    path: options.path ?? '/socket.io/',
    transports,
    auth: options.auth,
    token: tokenSource(options.token),
    reconnection: {
      initialDelayMs,
      maxDelayMs: Math.max(initialDelayMs, positive('reconnection.maxDelayMs', r.maxDelayMs, 5000)),
      randomization,
      maxAttempts: positive('reconnection.maxAttempts', r.maxAttempts, Infinity, true),
    },
    ackTimeoutMs: positive('ackTimeoutMs', options.ackTimeoutMs, 10_000),
    io: options.io ?? (defaultIo as IoFactory),
    logger: options.logger ?? silent,
    network: options.network === undefined ? browserNetwork() : options.network,
    silentIntervals: options.silentIntervals === null ? null : silentIntervals(options.silentIntervals),
  };
}

/** Fewer than one ping interval would call a healthy connection silent between two pings. */
function silentIntervals(value: number | undefined): number {
  const n = positive('silentIntervals', value, 1.5);
  if (n < 1) throw invalid(`option silentIntervals must be at least 1 (ping intervals), got ${n}`);
  return n;
}

/** A token as given (option or setToken()), checked: a non-empty string within the protocol's bound, or a provider. */
export function tokenSource(token: TokenSource | undefined): TokenSource | null {
  if (token === undefined) return null;
  if (typeof token === 'function' || (typeof token === 'string' && token.length > 0 && token.length <= TOKEN_MAX_LENGTH)) return token;
  throw invalid(`option token must be a non-empty string of at most ${TOKEN_MAX_LENGTH} characters or a function that returns one`);
}

/** Delay before retry number `attempt` (0-based): doubling from the initial delay up to the cap, with jitter. */
export function backoffDelay(attempt: number, r: Required<ReconnectionOptions>): number {
  const base = Math.min(r.initialDelayMs * 2 ** Math.min(attempt, 20), r.maxDelayMs);
  const jitter = base * r.randomization * (Math.random() * 2 - 1);
  return Math.max(0, Math.round(base + jitter));
}
