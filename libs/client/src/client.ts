// The client: one Socket.IO connection to `/monitoring`, the subscriptions made on it (re-joined
// in the order they were made after every connect), the routing of gateway events to them, and
// the token the connection carries (token.ts).
import type { Socket } from 'socket.io-client';
import {
  BACKFILL_MAX,
  ClientEvents,
  ErrorCodes,
  LOG_LEVELS,
  NAMESPACE,
  HOST_ID_PATTERN,
  SERVER_ID_PATTERN,
  alertsRoom,
  parseAlertRoom,
  ALERT_SEVERITIES,
  ServerEvents,
  isPosition,
  parseSystemMetricsRoom,
  type FleetFilter,
  type ParsedRoom,
  type ServerRemoved,
  type TokenRefreshed,
} from '@vigil/protocol';
import { ConnectionMonitor, refusalOf, type ConnectionState, type GatewayRefusal } from './connection.js';
import { TypedEmitter, type Listener } from './emitter.js';
import { ClientErrorCodes, VigilClientError } from './errors.js';
import { LogsChannel, type LogsOptions } from './logs-subscription.js';
import { MetricsChannel, checkInterval, type MetricsOptions } from './metrics-subscription.js';
import { backoffDelay, resolveOptions, tokenSource, type ClientLogger, type ResolvedClientOptions, type VigilClientOptions } from './options.js';
import { SystemMetricsChannel, type SystemMetricsOptions, type SystemMetricsSubscription } from './system-metrics-subscription.js';
import { invalidPayload, type AlertsSubscription, type Channel, type ChannelHost, type LogsSubscription, type MetricsSubscription } from './subscription.js';
import { TokenKeeper, forbiddenBy, type TokenSource } from './token.js';
import { Requests, isAlertEvent, isProcessInfoEvent, isProcessLogsEvent, isServerRemoved, isStatusChangeEvent, isSystemMetricsEvent, isFleetUpdate, type RequestName } from './wire.js';
import { AlertsChannel, type AlertsOptions } from './alerts-subscription.js';
import { FleetChannel, checkFleetFilter, type FleetOptions, type FleetSubscription } from './fleet-subscription.js';

export type VigilClientEvents = {
  /** Every change of the connection state. */
  state: ConnectionState;
  /** The gateway said why it is ending the connection (`disconnect-reason`), just before it does. */
  'disconnect-reason': GatewayRefusal;
  /** The gateway warned that the connection's token expires at `expiresAt`; the client is refreshing it. */
  'token-expiring': { expiresAt: string };
  /** The gateway accepted a new token; `left`: rooms it no longer allows (their subscriptions ended with FORBIDDEN). */
  'token-refreshed': TokenRefreshed;
  /** No new token could be given before expiry (TOKEN_UNAVAILABLE) or the gateway refused it. */
  'token-refresh-failed': VigilClientError;
  /**
   * A server this client watches was removed with its history (an admin's delete, or the
   * retention after it left). Its subscriptions stay: if it registers again, they deliver again.
   */
  'server-removed': ServerRemoved;
};

const serverIdRe = new RegExp(SERVER_ID_PATTERN);
const hostIdRe = new RegExp(HOST_ID_PATTERN);

export class VigilClient {
  readonly #options: ResolvedClientOptions;
  readonly #socket: Socket;
  readonly #monitor: ConnectionMonitor;
  readonly #events: TypedEmitter<VigilClientEvents>;
  /** In the order they were made: the order of re-joins. */
  readonly #channels = new Set<Channel>();
  readonly #metrics = new Map<string, Set<MetricsChannel>>();
  readonly #logs = new Map<string, LogsChannel>();
  readonly #alerts = new Set<AlertsChannel>();
  readonly #systems = new Map<string, Set<SystemMetricsChannel>>();
  /** The fleet summary: one per connection (the gateway keeps one filter per connection). */
  #fleet: FleetChannel | null = null;
  readonly #host: ChannelHost;
  readonly #requests: Requests;
  readonly #token: TokenKeeper;
  #closed = false;

  constructor(options: VigilClientOptions) {
    const o = (this.#options = resolveOptions(options));
    const logger = o.logger;
    this.#events = new TypedEmitter((err) => logger.error({ err }, 'client event listener threw'));
    this.#token = new TokenKeeper(
      {
        logger,
        refresh: (token) => this.#requests.send(ClientEvents.refreshToken, { token }),
        forbid: (rooms) => this.#forbid(rooms),
        refreshed: (result) => {
          this.#forbidAlerts(result.left);
          this.#forbidHosts(result.left);
          this.#events.emit('token-refreshed', result);
        },
        refreshFailed: (err) => this.#events.emit('token-refresh-failed', err),
      },
      o.token,
    );
    this.#socket = o.io(`${o.url}${NAMESPACE}`, {
      path: o.path,
      transports: o.transports,
      tryAllTransports: o.transports.length > 1,
      forceNew: true,
      multiplex: false,
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: o.reconnection.initialDelayMs,
      reconnectionDelayMax: o.reconnection.maxDelayMs,
      randomizationFactor: o.reconnection.randomization,
      reconnectionAttempts: o.reconnection.maxAttempts,
      auth: this.#token.handshake(o.auth),
    });
    this.#requests = new Requests(this.#socket, o.ackTimeoutMs);
    this.#monitor = new ConnectionMonitor(this.#socket, o, (state) => this.#events.emit('state', state));
    this.#host = this.#makeHost(logger);
    this.#route();
    this.#socket.connect();
  }

  get state(): ConnectionState {
    return this.#monitor.state;
  }

  on<E extends keyof VigilClientEvents>(event: E, listener: Listener<VigilClientEvents[E]>): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Gives the client a new token (or provider). Connected: it is sent at once with `refresh-token`
   * (resolves when the gateway accepted it; rooms it no longer allows end with FORBIDDEN). Stopped
   * because the token was refused or expired: the client connects again with it. `null` forgets the
   * token and disconnects (state `unauthorized`) until the next setToken().
   */
  async setToken(token: TokenSource | null): Promise<void> {
    if (this.#closed) throw new VigilClientError(ClientErrorCodes.CLOSED, 'the client is closed');
    this.#token.source = token === null ? null : tokenSource(token);
    if (token === null) {
      this.#monitor.halt({ code: ErrorCodes.UNAUTHORIZED, message: 'signed out: no token' });
      return;
    }
    if (this.#socket.connected) await this.#token.refresh();
    else this.#monitor.resume();
  }

  /** Resolves when the gateway confirmed the subscription (waiting while offline); rejects with a coded error. */
  subscribeMetrics(serverId: string, options: MetricsOptions = {}): Promise<MetricsSubscription> {
    return this.#start(() => {
      checkServerId(serverId);
      checkInterval(options.interval);
      return addChannel(this.#metrics, serverId, new MetricsChannel(this.#host, serverId, options));
    });
  }

  /** A host's samples (CPU, load, memory, network, mounts); resolves when the gateway confirmed, re-joined after every reconnect. */
  subscribeSystemMetrics(host: string, options: SystemMetricsOptions = {}): Promise<SystemMetricsSubscription> {
    return this.#start(() => {
      if (typeof host !== 'string' || !hostIdRe.test(host)) {
        throw invalidPayload(`host must match ${HOST_ID_PATTERN}, got ${JSON.stringify(String(host).slice(0, 80))}`);
      }
      checkInterval(options.interval);
      return addChannel(this.#systems, host, new SystemMetricsChannel(this.#host, host, options));
    });
  }

  /** Resolves when the first replay is delivered and the gateway confirmed; rejects with a coded error. */
  subscribeLogs(serverId: string, options: LogsOptions): Promise<LogsSubscription> {
    return this.#start(() => {
      checkServerId(serverId);
      if (typeof options?.onLine !== 'function') throw invalidPayload('onLine must be a function');
      const { level, backfill, since } = options;
      if (level !== undefined && !LOG_LEVELS.includes(level)) throw invalidPayload(`level must be one of ${LOG_LEVELS.join(', ')}`);
      if (backfill !== undefined && !(Number.isInteger(backfill) && backfill >= 0 && backfill <= BACKFILL_MAX)) {
        throw invalidPayload(`backfill must be an integer in 0..${BACKFILL_MAX}`);
      }
      if (since !== undefined && !isPosition(since)) throw invalidPayload('since must be a position ("<ms>-<seq>")');
      if (since !== undefined && backfill !== undefined) throw invalidPayload('give since or backfill, not both');
      if (this.#logs.has(serverId)) {
        throw new VigilClientError(
          ClientErrorCodes.DUPLICATE_SUBSCRIPTION,
          `already following the logs of ${serverId}; use setLevel() on that subscription or unsubscribe it first`,
        );
      }
      const channel = new LogsChannel(this.#host, serverId, options);
      this.#logs.set(serverId, channel);
      return channel;
    });
  }

  /**
   * Alerts firing now, then each change, for every server the token sees (or `serverId`), at
   * `severity` and above; re-joined (with a fresh snapshot of what fires) after every reconnect.
   */
  subscribeAlerts(options: AlertsOptions = {}): Promise<AlertsSubscription> {
    return this.#start(() => {
      if (options.serverId !== undefined) checkServerId(options.serverId);
      if (options.severity !== undefined && !ALERT_SEVERITIES.includes(options.severity)) {
        throw invalidPayload(`severity must be one of ${ALERT_SEVERITIES.join(', ')}`);
      }
      const channel = new AlertsChannel(this.#host, options);
      this.#alerts.add(channel);
      return channel;
    });
  }

  /**
   * The fleet summary: every server the token may see that matches `filter`, one row each, kept
   * current (a snapshot, then deltas at most once a second). Resolves when the gateway confirmed
   * and the first snapshot is in `rows`; re-subscribed after every reconnect and `resync-required`.
   * One per client (DUPLICATE_SUBSCRIPTION otherwise): change its filter with setFilter().
   */
  subscribeFleet(filter?: FleetFilter, options: FleetOptions = {}): Promise<FleetSubscription> {
    return this.#start(() => {
      checkFleetFilter(filter);
      if (this.#fleet && !this.#fleet.ended) {
        throw new VigilClientError(ClientErrorCodes.DUPLICATE_SUBSCRIPTION, 'this client already has a fleet subscription; use setFilter() on it or close() it first');
      }
      return (this.#fleet = new FleetChannel(this.#host, filter, options));
    });
  }

  /** Releases everything: subscriptions (pending ones reject with VIGIL_ERR_CLIENT_CLOSED), socket, timers, listeners. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new VigilClientError(ClientErrorCodes.CLOSED, 'the client was closed');
    for (const channel of this.#channels) channel.end(closed);
    this.#requests.failAll(closed);
    this.#channels.clear();
    this.#metrics.clear();
    this.#logs.clear();
    this.#alerts.clear();
    this.#systems.clear();
    this.#fleet = null;
    this.#monitor.close();
    this.#socket.removeAllListeners();
    this.#socket.disconnect();
    this.#events.clear();
  }

  #start<C extends MetricsChannel | LogsChannel | SystemMetricsChannel | AlertsChannel | FleetChannel>(create: () => C): Promise<C['view']> {
    if (this.#closed) return Promise.reject(new VigilClientError(ClientErrorCodes.CLOSED, 'the client is closed'));
    let channel: C;
    try {
      channel = create();
    } catch (err) {
      return Promise.reject(err);
    }
    this.#channels.add(channel);
    void channel.join();
    return channel.confirmed.then(() => channel.view);
  }

  #route(): void {
    const socket = this.#socket;
    const logger = this.#options.logger;
    socket.on('connect', () => {
      for (const channel of this.#channels) void channel.join();
    });
    socket.on('disconnect', (reason: string) => {
      const lost = new VigilClientError(ClientErrorCodes.DISCONNECTED, `connection lost: ${reason}`);
      this.#requests.failAll(lost);
      this.#fleet?.disconnected(lost);
    });
    socket.on(ServerEvents.processInfo, (event: unknown) => {
      if (!isProcessInfoEvent(event)) return malformed(logger, ServerEvents.processInfo);
      for (const channel of this.#metrics.get(event.serverId) ?? []) channel.receiveSample(event);
    });
    socket.on(ServerEvents.serverStatusChanged, (event: unknown) => {
      if (!isStatusChangeEvent(event)) return malformed(logger, ServerEvents.serverStatusChanged);
      for (const channel of this.#metrics.get(event.serverId) ?? []) channel.receiveStatus(event);
    });
    socket.on(ServerEvents.serverRemoved, (event: unknown) => {
      if (!isServerRemoved(event)) return malformed(logger, ServerEvents.serverRemoved);
      this.#events.emit('server-removed', event);
    });
    // The gateway lost its pub/sub link for a while: lines may be in history that never came
    // live. Re-join those log subscriptions from the last delivered position.
    socket.on(ServerEvents.resyncRequired, (event: unknown) => {
      const ids = (event as { serverIds?: unknown } | null)?.serverIds;
      if (!Array.isArray(ids)) return malformed(logger, ServerEvents.resyncRequired);
      for (const id of ids) if (typeof id === 'string') void this.#logs.get(id)?.join();
      // The fleet view is read from Redis, not pub/sub; a fresh snapshot costs little and settles any doubt.
      void this.#fleet?.join();
    });
    socket.on(ServerEvents.fleetUpdate, (event: unknown) => {
      if (!isFleetUpdate(event)) return malformed(logger, ServerEvents.fleetUpdate);
      this.#fleet?.receive(event);
    });
    socket.on(ServerEvents.processLogs, (event: unknown) => {
      if (!isProcessLogsEvent(event)) return malformed(logger, ServerEvents.processLogs);
      this.#logs.get(event.serverId)?.receive(event);
    });
    socket.on(ServerEvents.alert, (event: unknown) => {
      if (!isAlertEvent(event)) return malformed(logger, ServerEvents.alert);
      for (const channel of this.#alerts) channel.receive(event);
    });
    socket.on(ServerEvents.systemMetricsUpdate, (event: unknown) => {
      if (!isSystemMetricsEvent(event)) return malformed(logger, ServerEvents.systemMetricsUpdate);
      for (const channel of this.#systems.get(event.host) ?? []) channel.receive(event);
    });
    socket.on(ServerEvents.tokenExpiring, (event: unknown) => {
      const expiresAt = (event as { expiresAt?: unknown } | null)?.expiresAt;
      if (typeof expiresAt !== 'string') return malformed(logger, ServerEvents.tokenExpiring);
      this.#events.emit('token-expiring', { expiresAt });
      // Failures are reported by the 'token-refresh-failed' event.
      this.#token.refresh().catch(() => undefined);
    });
    socket.on(ServerEvents.disconnectReason, (event: unknown) => {
      const refusal = refusalOf(event);
      if (!refusal) return malformed(logger, ServerEvents.disconnectReason);
      this.#events.emit('disconnect-reason', refusal);
    });
  }

  #makeHost(logger: ClientLogger): ChannelHost {
    const client = this;
    return {
      logger,
      get connected() {
        return client.#socket.connected;
      },
      request: (event, payload, progress) => this.#requests.send(event, payload, progress),
      retryDelay: (attempt) => backoffDelay(attempt, this.#options.reconnection),
      release: (channel) => this.#release(channel),
      metricsInterval: (serverId) => this.#fastestAsked(serverId),
      confirmedInterval: (serverId, ms) => {
        for (const channel of this.#metrics.get(serverId) ?? []) channel.confirmInterval(ms);
      },
    };
  }

  /** Alert scopes the gateway left on a token refresh: those subscriptions end as refused. */
  #forbidAlerts(left: readonly string[]): void {
    for (const room of left) {
      const parsed = parseAlertRoom(room);
      if (!parsed) continue;
      for (const channel of [...this.#alerts]) {
        if (channel.scope === parsed.serverId) {
          channel.refuse(new VigilClientError(ErrorCodes.FORBIDDEN, `the new token does not allow ${alertsRoom(parsed.serverId)}`));
        }
      }
    }
  }

  /** The gateway left these rooms on a token refresh: their subscriptions end as refused. */
  #forbid(rooms: ParsedRoom[]): void {
    for (const room of rooms) {
      const channels = room.kind === 'metrics' ? [...(this.#metrics.get(room.serverId) ?? [])] : [this.#logs.get(room.serverId)];
      for (const channel of channels) channel?.refuse(forbiddenBy(room));
    }
  }

  /** Host rooms the gateway left on a token refresh: their subscriptions end as refused. */
  #forbidHosts(left: readonly string[]): void {
    for (const room of left) {
      const host = parseSystemMetricsRoom(room);
      if (host === null) continue;
      const refusal = new VigilClientError(ErrorCodes.FORBIDDEN, `the new token may not see host "${host}"`);
      for (const channel of [...(this.#systems.get(host) ?? [])]) channel.refuse(refusal);
    }
  }

  /** The fastest interval this client's live subscriptions to a server ask for. */
  #fastestAsked(serverId: string, releasing?: Channel): number | undefined {
    let min: number | undefined;
    for (const c of this.#metrics.get(serverId) ?? []) {
      if ((c.ended && c !== releasing) || c.asked === undefined) continue;
      if (min === undefined || c.asked < min) min = c.asked;
    }
    return min;
  }

  async #release(channel: Channel): Promise<void> {
    this.#channels.delete(channel);
    const { serverId } = channel;
    if (channel instanceof AlertsChannel) {
      this.#alerts.delete(channel);
      if (this.#closed || !this.#socket.connected) return;
      // Another subscription of the same scope still needs the rooms.
      if ([...this.#alerts].some((c) => c.scope === channel.scope)) return;
      await this.#requests
        .send(ClientEvents.unsubscribeAlerts, channel.scope === null ? {} : { serverId: channel.scope })
        .catch((err: unknown) => this.#options.logger.debug({ serverId: serverId, err }, 'unsubscribe-alerts not confirmed'));
      return;
    }
    if (channel instanceof FleetChannel) {
      if (this.#fleet === channel) this.#fleet = null;
      if (this.#closed || !this.#socket.connected || this.#fleet) return;
      await this.#requests.send(ClientEvents.unsubscribeFleet, {}).catch((err: unknown) => {
        this.#options.logger.debug({ err }, 'unsubscribe-fleet not confirmed');
      });
      return;
    }
    if (channel instanceof SystemMetricsChannel) {
      const set = this.#systems.get(serverId);
      set?.delete(channel);
      if (set && set.size > 0) return;
      this.#systems.delete(serverId);
      if (this.#closed || !this.#socket.connected) return;
      await this.#requests.send(ClientEvents.unsubscribeSystemMetrics, { host: serverId }).catch((err: unknown) => {
        this.#options.logger.debug({ host: serverId, err }, 'unsubscribe not confirmed');
      });
      return;
    }
    let event: RequestName;
    if (channel instanceof MetricsChannel) {
      const before = this.#fastestAsked(serverId, channel);
      const set = this.#metrics.get(serverId);
      set?.delete(channel);
      if (set && set.size > 0) {
        // Another subscription still needs the room; if this one asked fastest, ask what remains.
        const remaining = [...set].find((c) => !c.ended);
        if (remaining && before !== this.#fastestAsked(serverId)) await remaining.join();
        return;
      }
      this.#metrics.delete(serverId);
      event = ClientEvents.unsubscribeServerMetrics;
    } else {
      if (this.#logs.get(serverId) === channel) this.#logs.delete(serverId);
      event = ClientEvents.unsubscribeServerLogs;
    }
    // Offline there is nothing to leave: a new connection starts in no room.
    if (this.#closed || !this.#socket.connected) return;
    try {
      await this.#requests.send(event, { serverId });
    } catch (err) {
      this.#options.logger.debug({ serverId, event, err }, 'unsubscribe not confirmed');
    }
  }
}

export function createVigilClient(options: VigilClientOptions): VigilClient {
  return new VigilClient(options);
}

function checkServerId(serverId: string): void {
  if (typeof serverId !== 'string' || !serverIdRe.test(serverId)) {
    throw invalidPayload(`serverId must match ${SERVER_ID_PATTERN}, got ${JSON.stringify(String(serverId).slice(0, 80))}`);
  }
}

/** Several subscriptions may share one room: each key holds a set of channels. */
function addChannel<C>(map: Map<string, Set<C>>, key: string, channel: C): C {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(channel);
  return channel;
}

function malformed(logger: ClientLogger, event: string): void {
  logger.warn({ event }, 'dropped a malformed event from the gateway');
}
