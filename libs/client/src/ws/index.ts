// `@vigil/client/ws`: a small client of the gateway's plain WebSocket endpoint /ws, for Node
// scripts and tools. Requests are `{ id, event, data }` frames answered by `{ id, ack }`; the
// token travels in `Authorization: Bearer` on the upgrade (never in the URL), which browsers
// cannot set: in a browser, use the Socket.IO client (`@vigil/client`). It re-subscribes after
// every reconnect (a /ws connection has no session on the gateway): metrics from their latest
// sample, logs from the last line it delivered (`since`), so nothing is missed or delivered twice;
// host metrics and alerts the same way (alerts: what fires now replaces the firing set).
//
// Node 22 has a global WebSocket (undici, which takes `headers`); on Node 20 pass the `ws`
// package: `new VigilWsClient({ url, token, WebSocket: (await import('ws')).default })`.
import {
  ClientEvents,
  ServerEvents,
  WS_PATH,
  WsCloseCodes,
  comparePositions,
  meetsSeverity,
  type AckEvent,
  type AlertEvent,
  type AlertSeverity,
  type LogLevel,
  type ProcessInfoEvent,
  type ProcessLogsEvent,
  type ReplyOf,
  type SystemMetricsEvent,
} from '@vigil/protocol';
import { ALERT_IDS_REMEMBERED } from '../alerts-subscription.js';
import { HELD_MAX, MAX_REPLAY_ROUNDS } from '../logs-subscription.js';

/** What the client needs of a WebSocket: the WHATWG API (browsers, Node 22, `ws`) with `headers` in its init. */
export type WebSocketLike = {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
};
export type WebSocketConstructor = new (url: string, init: { headers: Record<string, string> }) => WebSocketLike;

export type Ack<E extends AckEvent> = ({ ok: true } & ReplyOf<E>) | { ok: false; error: { code: string; message: string } };

export type VigilWsOptions = {
  /** The gateway (or balancer): `http(s)://host:port` or `ws(s)://host:port`; `/ws` is added. */
  url: string;
  /** The JWT, or a function asked at every (re)connect and when the gateway warns of expiry. */
  token?: string | (() => string | Promise<string>);
  /** Default: the global WebSocket (browsers lack `headers`: there, use the Socket.IO client). */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its ack. Default 10 s. */
  ackTimeoutMs?: number;
  /** Pause before reconnecting, doubling from min to max; false: do not reconnect. Default 250 ms … 10 s. */
  reconnect?: { minMs: number; maxMs: number } | false;
};

/**
 * One subscribe of a subscription is on the wire at a time: a re-subscribe asked for while one is
 * answered (a resync during a subscribe, a reconnect) waits for it, and asks made meanwhile share
 * one. Two in flight would share one `held` buffer and could deliver a replay after newer lines.
 */
type Serial = { inflight: Promise<unknown> | null; queued: Promise<unknown> | null };

type Subscription = Serial &
  (
    | { kind: 'metrics'; serverId: string; last: string | null; onSample(e: ProcessInfoEvent): void }
    | {
        kind: 'logs';
        serverId: string;
        level: LogLevel | undefined;
        last: string | null;
        onLine(e: ProcessLogsEvent): void;
        /** Lines held while a subscribe is answered: a replay and live lines may cross; sorted at the ack. At most HELD_MAX. */
        held: ProcessLogsEvent[] | null;
        /** Past HELD_MAX the held lines are let go: the oldest of them, read again by another subscribe. */
        dropped: string | null;
        /** Subscribes in a row that left lines to read again (a capped replay, lines let go); at most MAX_REPLAY_ROUNDS. */
        rounds: number;
      }
    | { kind: 'host'; host: string; interval: number | undefined; last: string | null; onSample(e: SystemMetricsEvent): void }
    | {
        kind: 'alerts';
        serverId: string | null;
        severity: AlertSeverity | undefined;
        /** Last position delivered per alert id (bounded: the oldest ids are forgotten). */
        seen: Map<string, string>;
        /** What fires now; each (re)subscribe's answer replaces it (an alert resolved while away drops out). */
        firing: Map<string, AlertEvent>;
        /** While a subscribe is answered: the firing alerts it brought. */
        snapshot: Map<string, AlertEvent> | null;
        onAlert(e: AlertEvent): void;
        onChange: ((firing: AlertEvent[]) => void) | undefined;
      }
  );

type AckOf<K extends Subscription['kind']> = Ack<
  K extends 'metrics' ? 'subscribe-server-metrics' : K extends 'logs' ? 'subscribe-server-logs' : K extends 'host' ? 'subscribe-system-metrics' : 'subscribe-alerts'
>;

const keyOf = (sub: Subscription): string =>
  sub.kind === 'host' ? `host:${sub.host}` : sub.kind === 'alerts' ? `alerts:${sub.serverId ?? '*'}` : `${sub.kind}:${sub.serverId}`;

const OPEN = 1;
const OPEN_TIMEOUT_MS = 10_000;

export class VigilWsClient {
  readonly #options: VigilWsOptions;
  readonly #subs = new Map<string, Subscription>();
  readonly #waiting = new Map<number, { resolve(ack: unknown): void; reject(err: Error): void }>();
  readonly #listeners = new Map<string, Set<(data: unknown) => void>>();
  #ws: WebSocketLike | null = null;
  #nextId = 1;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #pause: number;
  /** Resolves when the current connection is open (and its subscriptions are sent again). */
  #ready: Promise<void> | null = null;

  constructor(options: VigilWsOptions) {
    this.#options = options;
    this.#pause = options.reconnect ? options.reconnect.minMs : 250;
  }

  /** Opens the connection; resolves once open, rejects if the gateway refuses it (HTTP 401, 403, 429…). */
  connect(): Promise<void> {
    this.#closed = false;
    return (this.#ready ??= this.#open());
  }

  get connected(): boolean {
    return this.#ws?.readyState === OPEN;
  }

  /** Sends one event and resolves to its ack (an error ack is resolved too: check `ok`). */
  async request<E extends AckEvent>(event: E, data?: unknown): Promise<Ack<E>> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) throw new Error('vigil /ws: not connected');
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`vigil /ws: no ack for ${event} in ${this.#options.ackTimeoutMs ?? 10_000} ms`));
      }, this.#options.ackTimeoutMs ?? 10_000);
      this.#waiting.set(id, {
        resolve: (ack) => {
          clearTimeout(timer);
          resolve(ack as Ack<E>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      ws.send(JSON.stringify(data === undefined ? { id, event } : { id, event, data }));
    });
  }

  /** Every `event` the gateway pushes (`disconnect-reason`, `server-status-changed`, …); returns the function that stops it. */
  on(event: string, fn: (data: unknown) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Samples of a server, in order, each once, across reconnects. */
  async subscribeMetrics(serverId: string, onSample: (e: ProcessInfoEvent) => void): Promise<Ack<'subscribe-server-metrics'>> {
    return this.#add({ kind: 'metrics', serverId, last: null, onSample, inflight: null, queued: null });
  }

  /** Log lines of a server at `level` and above, in order, each once, across reconnects. */
  async subscribeLogs(serverId: string, onLine: (e: ProcessLogsEvent) => void, options: { level?: LogLevel; since?: string } = {}): Promise<Ack<'subscribe-server-logs'>> {
    return this.#add({ kind: 'logs', serverId, level: options.level, last: options.since ?? null, onLine, held: null, dropped: null, rounds: 0, inflight: null, queued: null });
  }

  /** Samples of a host (`system-metrics-update`), in order, each once, across reconnects; `interval` asks its collector to sample that often. */
  async subscribeSystemMetrics(host: string, onSample: (e: SystemMetricsEvent) => void, options: { interval?: number } = {}): Promise<Ack<'subscribe-system-metrics'>> {
    return this.#add({ kind: 'host', host, interval: options.interval, last: null, onSample, inflight: null, queued: null });
  }

  /**
   * Alerts of every server the token sees (or of `serverId`) at `severity` and above: those firing
   * now at once, then each firing and resolving, once each across reconnects.
   */
  async subscribeAlerts(
    onAlert: (e: AlertEvent) => void,
    options: { serverId?: string; severity?: AlertSeverity; onChange?: (firing: AlertEvent[]) => void } = {},
  ): Promise<Ack<'subscribe-alerts'>> {
    const sub = { kind: 'alerts' as const, serverId: options.serverId ?? null, severity: options.severity, seen: new Map(), firing: new Map(), snapshot: null, onAlert, onChange: options.onChange, inflight: null, queued: null };
    return this.#add(sub);
  }

  /** The alerts firing now for an alerts subscription (`serverId` as subscribed; none: every server). */
  firingAlerts(serverId?: string): AlertEvent[] {
    const sub = this.#subs.get(`alerts:${serverId ?? '*'}`);
    return sub?.kind === 'alerts' ? [...sub.firing.values()] : [];
  }

  async unsubscribe(kind: 'metrics' | 'logs', serverId: string): Promise<Ack<'unsubscribe-server-metrics'> | Ack<'unsubscribe-server-logs'>> {
    this.#subs.delete(`${kind}:${serverId}`);
    return this.request(kind === 'metrics' ? ClientEvents.unsubscribeServerMetrics : ClientEvents.unsubscribeServerLogs, { serverId });
  }

  async unsubscribeSystemMetrics(host: string): Promise<Ack<'unsubscribe-system-metrics'>> {
    this.#subs.delete(`host:${host}`);
    return this.request(ClientEvents.unsubscribeSystemMetrics, { host });
  }

  async unsubscribeAlerts(serverId?: string): Promise<Ack<'unsubscribe-alerts'>> {
    this.#subs.delete(`alerts:${serverId ?? '*'}`);
    return this.request(ClientEvents.unsubscribeAlerts, serverId === undefined ? {} : { serverId });
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#ws?.close(WsCloseCodes.normal);
    this.#ws = null;
    this.#ready = null;
  }

  /** Keeps the subscription (sent again after each reconnect) unless the gateway refuses it. */
  async #add<S extends Subscription>(sub: S): Promise<AckOf<S['kind']>> {
    const key = keyOf(sub);
    this.#subs.set(key, sub);
    // Sent now, not after a turn of the queue: a new subscription has none in flight, and its
    // subscribe must reach the wire before an unsubscribe (or a second subscribe) asked right
    // after it, and always be answered (a queued one is skipped when superseded).
    const ack = (await this.#start(sub)) as AckOf<S['kind']>;
    if (!ack.ok && this.#subs.get(key) === sub) this.#subs.delete(key);
    return ack;
  }

  /** Sends the subscription's subscribe after the one in flight, if any (see `Serial`). */
  #subscribe(sub: Subscription): Promise<unknown> {
    if (sub.queued) return sub.queued;
    const before = sub.inflight ? sub.inflight.catch(() => undefined) : Promise.resolve();
    const queued: Promise<unknown> = before.then(() => {
      if (sub.queued === queued) sub.queued = null;
      // Unsubscribed while it waited: nothing to ask for.
      if (this.#subs.get(keyOf(sub)) !== sub) return undefined;
      return this.#start(sub);
    });
    sub.queued = queued;
    return queued;
  }

  /** Sends the subscription's subscribe now, as the one in flight. */
  #start(sub: Subscription): Promise<unknown> {
    const sent = this.#send(sub);
    sub.inflight = sent;
    return sent.finally(() => {
      if (sub.inflight === sent) sub.inflight = null;
    });
  }

  #send(sub: Subscription): Promise<unknown> {
    switch (sub.kind) {
      case 'metrics':
        return this.request(ClientEvents.subscribeServerMetrics, { serverId: sub.serverId });
      case 'host':
        return this.request(ClientEvents.subscribeSystemMetrics, { host: sub.host, ...(sub.interval === undefined ? {} : { interval: sub.interval }) });
      case 'alerts': {
        const snapshot = new Map<string, AlertEvent>();
        sub.snapshot = snapshot;
        const data = { ...(sub.serverId === null ? {} : { serverId: sub.serverId }), ...(sub.severity ? { severity: sub.severity } : {}) };
        return this.request(ClientEvents.subscribeAlerts, data).then((ack) => {
          sub.snapshot = null;
          if (!ack.ok || ack.covered) return ack;
          let changed = false;
          for (const id of [...sub.firing.keys()]) if (!snapshot.has(id)) changed = sub.firing.delete(id) || changed;
          if (changed) sub.onChange?.([...sub.firing.values()]);
          return ack;
        }, (err: unknown) => {
          sub.snapshot = null;
          throw err;
        });
      }
      case 'logs': {
        const data = { serverId: sub.serverId, ...(sub.level ? { level: sub.level } : {}), ...(sub.last ? { since: sub.last } : {}) };
        sub.held = [];
        sub.dropped = null;
        return this.request(ClientEvents.subscribeServerLogs, data).then(
          (ack) => {
            this.#release(sub, ack.ok && ack.more ? ack.next : undefined);
            return ack;
          },
          (err: unknown) => {
            this.#release(sub, undefined);
            throw err;
          },
        );
      }
    }
  }

  /**
   * At a logs subscribe's answer: the held lines in order, up to `next` when the gateway capped
   * its replay; then, when lines are left to read (past `next`, or let go past HELD_MAX), one
   * more subscribe from where delivery stopped (the gateway replays at most BACKFILL_MAX a time).
   */
  #release(sub: Extract<Subscription, { kind: 'logs' }>, next: string | undefined): void {
    const held = sub.held ?? [];
    const dropped = sub.dropped;
    sub.held = null;
    sub.dropped = null;
    if (dropped === null) {
      held.sort((a, b) => comparePositions(a.position, b.position));
      for (const line of held) {
        // Held live lines past `next` come again in the rest of the replay.
        if (next !== undefined && comparePositions(line.position, next) > 0) break;
        this.#deliverOnce(sub, line);
      }
      if (next !== undefined && (sub.last === null || comparePositions(next, sub.last) > 0)) sub.last = next;
    } else if (sub.last === null) {
      sub.last = positionBefore(dropped);
    }
    const again = dropped !== null || next !== undefined;
    if (!again || sub.rounds >= MAX_REPLAY_ROUNDS || this.#subs.get(keyOf(sub)) !== sub) {
      sub.rounds = 0;
      return;
    }
    sub.rounds++;
    void this.#subscribe(sub).catch(() => undefined);
  }

  async #token(): Promise<string | undefined> {
    const t = this.#options.token;
    return typeof t === 'function' ? await t() : t;
  }

  async #open(): Promise<void> {
    const token = await this.#token();
    const WS = this.#options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error('vigil /ws: no WebSocket here; pass one (the `ws` package on Node 20)');
    const url = `${this.#options.url.replace(/^http/, 'ws').replace(/\/+$/, '')}${WS_PATH}`;
    const ws = new WS(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('vigil /ws: not open in time')), OPEN_TIMEOUT_MS);
      ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error('vigil /ws: the connection failed or was refused'));
      });
    }).catch((err: unknown) => {
      // A socket that opens after we gave up on it would stay open, signed in, and unheard.
      try {
        ws.close();
      } catch {
        // not open yet or already closed: nothing to end
      }
      if (this.#ws === ws) this.#ws = null;
      this.#ready = null;
      throw err;
    });
    ws.addEventListener('message', (e) => this.#receive(e.data));
    ws.addEventListener('close', (e) => this.#onClose(ws, e.code ?? 1006));
    this.#pause = this.#options.reconnect ? this.#options.reconnect.minMs : 250;
    // After a reconnect: every subscription again, logs from the last line delivered.
    await Promise.all([...this.#subs.values()].map((sub) => this.#subscribe(sub).catch(() => undefined)));
  }

  #receive(raw: unknown): void {
    let frame: { id?: unknown; ack?: unknown; event?: unknown; data?: unknown };
    try {
      frame = JSON.parse(String(raw)) as typeof frame;
    } catch {
      return;
    }
    // Valid JSON is not always an object (`null`, `3`): nothing a gateway sends, dropped unread.
    if (typeof frame !== 'object' || frame === null) return;
    if ('ack' in frame) {
      const waiting = typeof frame.id === 'number' ? this.#waiting.get(frame.id) : undefined;
      if (waiting) {
        this.#waiting.delete(frame.id as number);
        waiting.resolve(frame.ack);
      }
      return;
    }
    if (typeof frame.event !== 'string') return;
    this.#deliver(frame.event, frame.data);
    for (const fn of this.#listeners.get(frame.event) ?? []) fn(frame.data);
  }

  #deliver(event: string, data: unknown): void {
    if (event === ServerEvents.tokenExpiring) {
      if (typeof this.#options.token === 'function') void this.#refresh();
      return;
    }
    if (event === ServerEvents.resyncRequired) return this.#resync((data as { serverIds?: unknown } | null)?.serverIds);
    const e = data as { serverId?: unknown; host?: unknown; position?: unknown; id?: unknown; severity?: unknown } | null;
    if (typeof e?.position !== 'string') return;
    if (event === ServerEvents.alert) {
      if (typeof e.id !== 'string' || typeof e.serverId !== 'string' || typeof e.severity !== 'string') return;
      for (const sub of this.#subs.values()) if (sub.kind === 'alerts') this.#deliverAlert(sub, data as AlertEvent);
      return;
    }
    const key =
      event === ServerEvents.processInfo ? `metrics:${String(e.serverId)}`
      : event === ServerEvents.processLogs ? `logs:${String(e.serverId)}`
      : event === ServerEvents.systemMetricsUpdate ? `host:${String(e.host)}`
      : null;
    const sub = key === null ? undefined : this.#subs.get(key);
    if (!sub || sub.kind === 'alerts') return;
    if (sub.kind === 'logs' && sub.held) this.#hold(sub, sub.held, data as ProcessLogsEvent);
    else this.#deliverOnce(sub, data as ProcessInfoEvent & ProcessLogsEvent & SystemMetricsEvent);
  }

  /** A line that came while a subscribe is answered; past HELD_MAX, all of them are let go (read again after). */
  #hold(sub: Extract<Subscription, { kind: 'logs' }>, held: ProcessLogsEvent[], line: ProcessLogsEvent): void {
    if (sub.dropped === null && held.length < HELD_MAX) {
      held.push(line);
      return;
    }
    for (const h of held) if (sub.dropped === null || comparePositions(h.position, sub.dropped) < 0) sub.dropped = h.position;
    held.length = 0;
    if (sub.dropped === null || comparePositions(line.position, sub.dropped) < 0) sub.dropped = line.position;
  }

  /** Each event once, in order: a re-subscribe sends the latest sample again. */
  #deliverOnce(sub: Exclude<Subscription, { kind: 'alerts' }>, e: ProcessInfoEvent | ProcessLogsEvent | SystemMetricsEvent): void {
    if (sub.last !== null && comparePositions(e.position, sub.last) <= 0) return;
    sub.last = e.position;
    if (sub.kind === 'metrics') sub.onSample(e as ProcessInfoEvent);
    else if (sub.kind === 'host') sub.onSample(e as SystemMetricsEvent);
    else sub.onLine(e as ProcessLogsEvent);
  }

  /** An alert for this subscription once per change: a re-subscribe sends what fires now again. */
  #deliverAlert(sub: Extract<Subscription, { kind: 'alerts' }>, e: AlertEvent): void {
    if (sub.serverId !== null && e.serverId !== sub.serverId) return;
    if (sub.severity && !meetsSeverity(e.severity, sub.severity)) return;
    if (e.state === 'firing') sub.snapshot?.set(e.id, e);
    else sub.snapshot?.delete(e.id);
    const seen = sub.seen.get(e.id);
    if (seen !== undefined && comparePositions(e.position, seen) <= 0) return;
    sub.seen.delete(e.id);
    sub.seen.set(e.id, e.position);
    if (sub.seen.size > ALERT_IDS_REMEMBERED) sub.seen.delete(sub.seen.keys().next().value!);
    if (e.state === 'firing') sub.firing.set(e.id, e);
    else sub.firing.delete(e.id);
    sub.onAlert(e);
    sub.onChange?.([...sub.firing.values()]);
  }

  /** The gateway lost Redis for a moment: lines may have missed us live; subscribe again from the last one. */
  #resync(serverIds: unknown): void {
    if (!Array.isArray(serverIds)) return;
    for (const id of serverIds) {
      const sub = this.#subs.get(`logs:${String(id)}`);
      if (sub) void this.#subscribe(sub).catch(() => undefined);
    }
  }

  async #refresh(): Promise<void> {
    const token = await this.#token().catch(() => undefined);
    if (token) await this.request(ClientEvents.refreshToken, { token }).catch(() => undefined);
  }

  #onClose(ws: WebSocketLike, code: number): void {
    if (this.#ws !== ws) return;
    this.#ws = null;
    this.#ready = null;
    for (const waiting of this.#waiting.values()) waiting.reject(new Error(`vigil /ws: connection closed (${code}) before the ack`));
    this.#waiting.clear();
    const reconnect = this.#options.reconnect ?? { minMs: 250, maxMs: 10_000 };
    // A refused token comes back refused; a function may give a new one.
    const hopeless = code === WsCloseCodes.tokenExpired && typeof this.#options.token !== 'function';
    if (this.#closed || reconnect === false || hopeless) return;
    const attempt = () => {
      this.#retry = null;
      if (this.#closed) return;
      this.#ready = this.#open();
      this.#ready.catch(() => {
        this.#pause = Math.min(this.#pause * 2, reconnect.maxMs);
        if (!this.#closed) this.#retry = setTimeout(attempt, this.#pause);
      });
    };
    this.#retry = setTimeout(attempt, this.#pause);
  }
}

/** The position just before `position` (a `since` that replays it too). */
function positionBefore(position: string): string {
  const [ms, seq] = position.split('-').map(Number) as [number, number];
  if (seq > 0) return `${ms}-${seq - 1}`;
  return ms > 0 ? `${ms - 1}-999999999999999` : '0-0';
}
