// Prometheus metrics of one gateway, in a registry of its own (nothing process-global, so apps
// can be built and closed any number of times). Counting is per Redis message, never per
// client: deliveries are added as the size of the room a message was for. What is counted per
// message is plain numbers, handed to prom-client only when scraped.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Namespace } from 'socket.io';
import { parseRoom } from '@vigil/protocol';
import { positionMsInFrame, roomOfChannel } from '@vigil/store';
import { registerBuildInfo } from './build-info.js';
import { LagHistogram, type LagSeries } from './lag-histogram.js';
import { DEFAULT_SILENT_SESSION_MS, countSilentSessions, watchDeliveries } from './sessions/silence.js';

/** Per kind of room: Redis messages and the deliveries they made, totals since start. */
type KindTally = { messages: number; deliveries: number };

type ChannelMetrics = {
  room: string | null;
  received: number;
  /** When its last message arrived (ms). */
  heardAt: number;
  tally: KindTally;
  lag: LagSeries;
};

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #extra: Registry[];
  readonly #tallies = new Map<string, KindTally>();
  readonly #lag: LagHistogram;
  readonly #failures: Counter<'op'>;
  readonly #rejected: Counter<'code'>;
  readonly #slowConsumers: Counter;
  readonly #refusedConnections: Counter<'code'>;
  #nsp: Namespace | null = null;
  #wsClients: () => number = () => 0;
  readonly #channels = new Map<string, ChannelMetrics>();
  readonly #rooms = new Map<string, ChannelMetrics>();

  constructor(gatewayId: string, extra: Registry[] = [], silentSessionMs = DEFAULT_SILENT_SESSION_MS) {
    this.#extra = extra;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ gateway: gatewayId });
    registerBuildInfo(this.registry);
    const self = this;
    new Gauge({
      name: 'vigil_gateway_connections',
      help: 'Clients connected to this gateway, by transport (socket.io, ws)',
      labelNames: ['transport'],
      registers,
      collect() {
        this.set({ transport: 'socket.io' }, self.#nsp?.sockets.size ?? 0);
        this.set({ transport: 'ws' }, self.#wsClients());
      },
    });
    new Gauge({
      name: 'vigil_gateway_rooms',
      help: 'Rooms with at least one client on this gateway',
      registers,
      collect() {
        const nsp = self.#nsp;
        let rooms = 0;
        if (nsp) for (const room of nsp.adapter.rooms.keys()) if (!nsp.sockets.has(room)) rooms++;
        this.set(rooms);
      },
    });
    new Gauge({
      name: 'vigil_gateway_silent_sessions',
      help: `Clients holding rooms whose messages reached this gateway more than ${silentSessionMs / 1000} s after the client was last sent anything`,
      registers,
      collect() {
        const nsp = self.#nsp;
        this.set(nsp ? countSilentSessions(nsp, (room) => self.#rooms.get(room)?.heardAt, silentSessionMs) : 0);
      },
    });
    const tallies = this.#tallies;
    new Counter({
      name: 'vigil_gateway_redis_messages_total',
      help: 'Messages received from Redis pub/sub',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, t] of tallies) this.inc({ kind }, t.messages);
      },
    });
    new Counter({
      name: 'vigil_gateway_deliveries_total',
      help: 'Events delivered to clients from Redis messages',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, t] of tallies) this.inc({ kind }, t.deliveries);
      },
    });
    this.#lag = new LagHistogram({
      name: 'vigil_gateway_delivery_lag_seconds',
      help: 'Time from an event being written to Redis (its position) to this gateway emitting it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#failures = new Counter({ name: 'vigil_gateway_redis_failures_total', help: 'Redis commands that failed, by operation', labelNames: ['op'], registers });
    this.#rejected = new Counter({ name: 'vigil_gateway_events_rejected_total', help: 'Client events answered with an error, by code', labelNames: ['code'], registers });
    this.#slowConsumers = new Counter({ name: 'vigil_gateway_slow_consumers_total', help: 'Clients disconnected for not reading what they were sent', registers });
    this.#refusedConnections = new Counter({
      name: 'vigil_gateway_connections_refused_total',
      help: 'Socket.IO and /ws requests refused at the edge (origin, per-address caps), by code',
      labelNames: ['code'],
      registers,
    });
  }

  /** `wsClients`: how many clients /ws has (they share the namespace's rooms, not its sockets). */
  attach(nsp: Namespace, wsClients?: () => number): void {
    this.#nsp = nsp;
    if (wsClients) this.#wsClients = wsClients;
    watchDeliveries(nsp);
  }

  /** Called for every message on the subscriber connection: keep it cheap (plain numbers only). */
  onRedisMessage(channel: string, message: Buffer): void {
    const c = this.#channel(channel);
    const now = Date.now();
    c.received++;
    c.heardAt = now;
    c.tally.messages++;
    if (!c.room || !this.#nsp) return;
    c.tally.deliveries += this.#nsp.adapter.rooms.get(c.room)?.size ?? 0;
    const ms = positionMsInFrame(message);
    if (ms !== null && ms > 0) c.lag.observe(Math.max(0, now - ms) / 1000);
  }

  /** Per channel: its room and its kind's tallies, parsed once (channels are few and reused). */
  #channel(channel: string): ChannelMetrics {
    let c = this.#channels.get(channel);
    if (c) return c;
    const room = roomOfChannel(channel);
    const kind = (room ? parseRoom(room)?.kind : undefined) ?? 'other';
    let tally = this.#tallies.get(kind);
    if (!tally) this.#tallies.set(kind, (tally = { messages: 0, deliveries: 0 }));
    c = { room: kind === 'other' ? null : room, received: 0, heardAt: 0, tally, lag: this.#lag.series(kind) };
    if (this.#channels.size > 100_000) {
      this.#channels.clear();
      this.#rooms.clear();
    }
    this.#channels.set(channel, c);
    if (c.room) this.#rooms.set(c.room, c);
    return c;
  }

  /** Messages Redis delivered on a channel (what a gateway with no client in a room must not get). */
  received(channel: string): number {
    return this.#channels.get(channel)?.received ?? 0;
  }

  redisFailure(op: string): void {
    this.#failures.inc({ op });
  }

  rejected(code: string): void {
    this.#rejected.inc({ code });
  }

  slowConsumer(): void {
    this.#slowConsumers.inc();
  }

  refusedConnection(code: string): void {
    this.#refusedConnections.inc({ code });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const merged = this.#extra.length ? Registry.merge([this.registry, ...this.#extra]) : this.registry;
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
