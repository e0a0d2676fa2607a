// The ack contract: what the gateway answers to each client event, once, as schemas. The gateway's
// handlers return these types, the client checks every ack against these schemas, and the tests
// hold the gateway's real answers to them, so a reply cannot drift from what clients expect.
import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';
import { ClientEvents } from './events.js';
import { HostId, Interval, IsoTime, LogLevel, Position, ServerId } from './schemas.js';
import { AlertSeverity } from './alerts.js';
import { FleetSubscribed, FleetUnsubscribed } from './fleet.js';

const Room = Type.String({ minLength: 1, maxLength: 200 });
const Code = Type.String({ minLength: 1, maxLength: 64 });
const Message = Type.String({ maxLength: 1000 });

export const AckErrorBody = Type.Object({ code: Code, message: Message }, { additionalProperties: false });
export const AckError = Type.Object({ ok: Type.Literal(false), error: AckErrorBody }, { additionalProperties: false });
export type AckError = Static<typeof AckError>;

/** A problem that did not stop the request (the subscription holds, something around it failed). */
export const AckWarning = AckErrorBody;
export type AckWarning = Static<typeof AckWarning>;

/** `subscribe-server-metrics`: the room joined and whether a latest sample was there to send. */
export const MetricsSubscribed = Type.Object(
  {
    room: Room,
    serverId: ServerId,
    interval: Interval,
    timestamp: IsoTime,
    /** Whether a latest sample existed (and was sent unless the client had a newer one). */
    latest: Type.Boolean(),
    warning: Type.Optional(AckWarning),
  },
  { additionalProperties: false },
);
export type MetricsSubscribed = Static<typeof MetricsSubscribed>;

/** `subscribe-server-logs`: the room joined, and what history was replayed. */
export const LogsSubscribed = Type.Object(
  {
    room: Room,
    serverId: ServerId,
    level: LogLevel,
    timestamp: IsoTime,
    replayed: Type.Integer({ minimum: 0 }),
    /** Lines after `since` were trimmed from history before this client could read them. */
    gap: Type.Boolean(),
    /** The replay was capped: subscribe again with since = next. */
    more: Type.Boolean(),
    next: Type.Optional(Position),
    /** Newest position in the server's log history when the replay was read. */
    head: Type.Optional(Position),
  },
  { additionalProperties: false },
);
export type LogsSubscribed = Static<typeof LogsSubscribed>;

/** Every unsubscribe: the room left (as the client named it) and whether it was held. */
export const Unsubscribed = Type.Object(
  { room: Room, timestamp: IsoTime, wasSubscribed: Type.Boolean() },
  { additionalProperties: false },
);
export type Unsubscribed = Static<typeof Unsubscribed>;

/** `get-connection-status`, also emitted as `connection-status`. */
export const ConnectionStatus = Type.Object(
  {
    clientId: Type.String({ minLength: 1, maxLength: 64 }),
    connectedAt: IsoTime,
    subscribedRooms: Type.Array(Room),
    lastActivity: IsoTime,
    timestamp: IsoTime,
  },
  { additionalProperties: false },
);
export type ConnectionStatus = Static<typeof ConnectionStatus>;

/** `ping`, also emitted as `pong`; `echo` is the client's own timestamp, when it sent one. */
export const Pong = Type.Object(
  { timestamp: IsoTime, echo: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 64 })])) },
  { additionalProperties: false },
);
export type Pong = Static<typeof Pong>;

/** `refresh-token`: the new expiry, and the rooms left because the new token does not allow them. */
export const TokenRefreshed = Type.Object(
  { expiresAt: IsoTime, left: Type.Array(Room) },
  { additionalProperties: false },
);
export type TokenRefreshed = Static<typeof TokenRefreshed>;

/** `subscribe-alerts`: the room (as named), the severity, and how many firing alerts were sent. */
export const AlertsSubscribed = Type.Object(
  {
    room: Room,
    serverId: Type.Union([ServerId, Type.Null()]),
    severity: AlertSeverity,
    timestamp: IsoTime,
    /** Alerts firing now that were sent as `alert` events just before this ack. */
    firing: Type.Integer({ minimum: 0 }),
    /** The socket's `alerts` subscription already covers this server: no room was joined. */
    covered: Type.Boolean(),
    warning: Type.Optional(AckWarning),
  },
  { additionalProperties: false },
);
export type AlertsSubscribed = Static<typeof AlertsSubscribed>;

/** `subscribe-system-metrics`: the room joined and whether a latest host sample was there to send. */
export const SystemMetricsSubscribed = Type.Object(
  {
    room: Room,
    host: HostId,
    interval: Interval,
    timestamp: IsoTime,
    latest: Type.Boolean(),
    warning: Type.Optional(AckWarning),
  },
  { additionalProperties: false },
);
export type SystemMetricsSubscribed = Static<typeof SystemMetricsSubscribed>;

/** The fields of the ok ack of each client event. */
export const AckReplies = {
  [ClientEvents.subscribeServerMetrics]: MetricsSubscribed,
  [ClientEvents.subscribeServerLogs]: LogsSubscribed,
  [ClientEvents.unsubscribeServerMetrics]: Unsubscribed,
  [ClientEvents.unsubscribeServerLogs]: Unsubscribed,
  [ClientEvents.unsubscribe]: Unsubscribed,
  [ClientEvents.getConnectionStatus]: ConnectionStatus,
  [ClientEvents.ping]: Pong,
  [ClientEvents.refreshToken]: TokenRefreshed,
  [ClientEvents.subscribeAlerts]: AlertsSubscribed,
  [ClientEvents.unsubscribeAlerts]: Unsubscribed,
  [ClientEvents.subscribeSystemMetrics]: SystemMetricsSubscribed,
  [ClientEvents.unsubscribeSystemMetrics]: Unsubscribed,
  [ClientEvents.subscribeFleet]: FleetSubscribed,
  [ClientEvents.unsubscribeFleet]: FleetUnsubscribed,
} as const;
export type AckReplies = typeof AckReplies;
export type AckEvent = keyof AckReplies;

/** The fields an ok ack of `E` carries (what a gateway handler returns). */
export type ReplyOf<E extends AckEvent> = Static<AckReplies[E]>;

/** The whole ack of an event whose ok fields are `reply`: `{ ok: true, …reply }` or the error form. */
function ackOf<T extends TObject>(reply: T) {
  return Type.Union([Type.Object({ ok: Type.Literal(true), ...reply.properties } as TProperties & { ok: TLiteral<true> } & T['properties'], { additionalProperties: false }), AckError]);
}

function acksOf<M extends Record<string, TObject>>(replies: M): { [K in keyof M]: ReturnType<typeof ackOf<M[K]>> } {
  return Object.fromEntries(Object.entries(replies).map(([event, reply]) => [event, ackOf(reply)])) as never;
}

/** The whole ack of each client event, as a schema. */
export const Acks = acksOf(AckReplies);
export type AckOf<E extends AckEvent> = Static<(typeof Acks)[E]>;
