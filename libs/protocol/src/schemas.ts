// Payload schemas, one source for runtime validation and for the TypeScript types.
import { Type, type Static } from '@sinclair/typebox';
import { BACKFILL_MAX, INTERVAL_MAX_MS, INTERVAL_MIN_MS, MAX_LOG_MESSAGE_BYTES, SERVER_ID_MAX_LENGTH, TOKEN_MAX_LENGTH } from './limits.js';
import {
  HOST_ID_MAX_LENGTH,
  HOST_MAX_COLLECTORS,
  HOST_MAX_CORES,
  HOST_MAX_INTERFACES,
  HOST_MAX_MOUNTS,
  HOST_MOUNT_PATH_MAX_LENGTH,
  HOST_NAME_FIELD_MAX_LENGTH,
} from './limits.js';
import { ErrorCodes, type ErrorCode } from './errors.js';

/** Server ids: what a room name or Redis key can safely carry. */
export const SERVER_ID_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._:-]{0,${SERVER_ID_MAX_LENGTH - 1}}$`;
export const ServerId = Type.String({ pattern: SERVER_ID_PATTERN, maxLength: SERVER_ID_MAX_LENGTH });

/** Log levels, least to most severe. A subscriber at level L receives L and above. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export const LogLevel = Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)));
export type LogLevel = Static<typeof LogLevel>;

/** The levels a subscriber at `level` receives. */
export function levelsFrom(level: LogLevel): LogLevel[] {
  return LOG_LEVELS.slice(LOG_LEVELS.indexOf(level));
}

export function meetsLevel(lineLevel: LogLevel, subscribed: LogLevel): boolean {
  return LOG_LEVELS.indexOf(lineLevel) >= LOG_LEVELS.indexOf(subscribed);
}

export const Position = Type.String({ pattern: '^\\d{1,15}-\\d{1,15}$', maxLength: 31 });
export const IsoTime = Type.String({ maxLength: 40 });
export const Interval = Type.Integer({ minimum: INTERVAL_MIN_MS, maximum: INTERVAL_MAX_MS });

// ---- client → gateway -------------------------------------------------------------------

export const SubscribeServerMetrics = Type.Object(
  { serverId: ServerId, interval: Type.Optional(Interval) },
  { additionalProperties: false },
);
export type SubscribeServerMetrics = Static<typeof SubscribeServerMetrics>;

export const SubscribeServerLogs = Type.Object(
  {
    serverId: ServerId,
    level: Type.Optional(LogLevel),
    since: Type.Optional(Position),
    backfill: Type.Optional(Type.Integer({ minimum: 0, maximum: BACKFILL_MAX })),
  },
  { additionalProperties: false },
);
export type SubscribeServerLogs = Static<typeof SubscribeServerLogs>;

export const ByServer = Type.Object({ serverId: ServerId }, { additionalProperties: false });
export type ByServer = Static<typeof ByServer>;

export const Unsubscribe = Type.Object(
  { room: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export type Unsubscribe = Static<typeof Unsubscribe>;

export const Ping = Type.Union([
  Type.Undefined(),
  Type.Null(),
  Type.Object(
    { timestamp: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 64 })])) },
    { additionalProperties: false },
  ),
]);
export type Ping = Static<typeof Ping>;

export const NoPayload = Type.Union([
  Type.Undefined(),
  Type.Null(),
  Type.Object({}, { additionalProperties: false }),
]);

/** `refresh-token`: a new token for this connection. */
export const RefreshToken = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: TOKEN_MAX_LENGTH }) },
  { additionalProperties: false },
);
export type RefreshToken = Static<typeof RefreshToken>;

// ---- gateway → client -------------------------------------------------------------------

export const Memory = Type.Object({
  rss: Type.Number({ minimum: 0 }),
  heapUsed: Type.Number({ minimum: 0 }),
  heapTotal: Type.Number({ minimum: 0 }),
  external: Type.Number({ minimum: 0 }),
});

export const ProcessInfo = Type.Object({
  pid: Type.Integer({ minimum: 1 }),
  /** Percent of one core, two decimals. */
  cpu: Type.Number({ minimum: 0 }),
  memory: Memory,
  /** Seconds since the process started. */
  uptime: Type.Number({ minimum: 0 }),
  timestamp: IsoTime,
});
export type ProcessInfo = Static<typeof ProcessInfo>;

/** `process:info` as stored in history: everything but the position, which is the entry id. */
export const ProcessInfoBody = Type.Object({
  serverId: ServerId,
  processInfo: ProcessInfo,
  timestamp: IsoTime,
});
export type ProcessInfoBody = Static<typeof ProcessInfoBody>;

export const ProcessInfoEvent = Type.Intersect([ProcessInfoBody, Type.Object({ position: Position })]);
export type ProcessInfoEvent = Static<typeof ProcessInfoEvent>;

/** `stopped`: its collector stopped cleanly (SIGTERM, close()); nothing watches it any more. */
export const SERVER_STATUSES = ['running', 'exited', 'restarted', 'stale', 'stopped'] as const;
/** Statuses of a server nobody is watching: after the retention (VIGIL_SERVER_RETENTION_MS) it is removed. */
export const GONE_STATUSES = ['exited', 'stopped', 'stale'] as const satisfies readonly (typeof SERVER_STATUSES)[number][];
export const ServerStatus = Type.Union(SERVER_STATUSES.map((s) => Type.Literal(s)));
export type ServerStatus = Static<typeof ServerStatus>;

export const StatusChangeBody = Type.Object({
  serverId: ServerId,
  status: ServerStatus,
  timestamp: IsoTime,
  pid: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  previousPid: Type.Optional(Type.Integer({ minimum: 1 })),
  reason: Type.Optional(Type.String({ maxLength: 200 })),
  /** For a process the agent supervised: how it ended. */
  exitCode: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  signal: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Null()])),
});
export type StatusChangeBody = Static<typeof StatusChangeBody>;

/**
 * `server-status-changed`. Collector-observed changes carry the position of their entry in the
 * server's event stream; `stale` is derived by gateways from a missing heartbeat and carries none.
 */
export const StatusChangeEvent = Type.Intersect([
  StatusChangeBody,
  Type.Object({ position: Type.Optional(Type.Union([Position, Type.Null()])) }),
]);
export type StatusChangeEvent = Static<typeof StatusChangeEvent>;

export const LogData = Type.Object({
  level: LogLevel,
  message: Type.String({ maxLength: MAX_LOG_MESSAGE_BYTES + 64 }),
  timestamp: IsoTime,
  metadata: Type.Record(Type.String({ maxLength: 128 }), Type.Unknown()),
});
export type LogData = Static<typeof LogData>;

/** `process:logs` as stored in history: everything but the position, which is the entry id. */
export const ProcessLogsBody = Type.Object({
  serverId: ServerId,
  logData: LogData,
  timestamp: IsoTime,
});
export type ProcessLogsBody = Static<typeof ProcessLogsBody>;

export const ProcessLogsEvent = Type.Intersect([ProcessLogsBody, Type.Object({ position: Position })]);
export type ProcessLogsEvent = Static<typeof ProcessLogsEvent>;

/** What a collector writes to the registry for each server it watches. */
export const RegistryEntry = Type.Object({
  serverId: ServerId,
  targetId: Type.String({ maxLength: 128 }),
  host: Type.String({ maxLength: 255 }),
  collectorId: Type.String({ maxLength: 255 }),
  pid: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  command: Type.Union([Type.String({ maxLength: 4096 }), Type.Null()]),
  startedAt: Type.Union([IsoTime, Type.Null()]),
  status: ServerStatus,
  restarts: Type.Integer({ minimum: 0 }),
  intervalMs: Interval,
  /**
   * Fastest this server is sampled for a viewer who asks (`subscribe-server-metrics { interval }`).
   * Absent: its collector samples at `intervalMs` whatever viewers ask.
   */
  minIntervalMs: Type.Optional(Interval),
  /** After this long without a heartbeat, the server is reported `stale`. */
  staleAfterMs: Type.Integer({ minimum: 100 }),
  updatedAt: IsoTime,
});
export type RegistryEntry = Static<typeof RegistryEntry>;

/** `token-expiring`: when the socket's token expires. */
export const TokenExpiring = Type.Object({ expiresAt: IsoTime }, { additionalProperties: false });
export type TokenExpiring = Static<typeof TokenExpiring>;

/** `disconnect-reason`, and `connect_error`'s `data` when a handshake is refused. */
export const DisconnectReason = Type.Object(
  { code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 1000 }) },
  { additionalProperties: false },
);
export type DisconnectReason = Static<typeof DisconnectReason>;

/** Why a server was removed: an admin's `DELETE /api/servers/:id`, or the retention sweep. */
export const SERVER_REMOVAL_REASONS = ['deleted', 'retention'] as const;
export const ServerRemovalReason = Type.Union(SERVER_REMOVAL_REASONS.map((r) => Type.Literal(r)));
export type ServerRemovalReason = Static<typeof ServerRemovalReason>;

/** `server-removed`: the server and everything stored for it are gone; it comes back only by registering again. */
export const ServerRemoved = Type.Object(
  { serverId: ServerId, reason: ServerRemovalReason, timestamp: IsoTime },
  { additionalProperties: false },
);
export type ServerRemoved = Static<typeof ServerRemoved>;
// ---- host metrics -----------------------------------------------------------------------

/** Host names: what a room name or Redis key can safely carry (a DNS name fits). */
export const HOST_ID_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._:-]{0,${HOST_ID_MAX_LENGTH - 1}}$`;
export const HostId = Type.String({ pattern: HOST_ID_PATTERN, maxLength: HOST_ID_MAX_LENGTH });

export const SubscribeSystemMetrics = Type.Object(
  { host: HostId, interval: Type.Optional(Interval) },
  { additionalProperties: false },
);
export type SubscribeSystemMetrics = Static<typeof SubscribeSystemMetrics>;

export const ByHost = Type.Object({ host: HostId }, { additionalProperties: false });
export type ByHost = Static<typeof ByHost>;

const Bytes = Type.Number({ minimum: 0 });
const Percent = Type.Number({ minimum: 0, maximum: 100 });

/**
 * One sample of a host. CPU in percent of all cores (total) and of each core, from /proc/stat
 * deltas; bytes for memory, mounts and network rates (per second, since the previous sample).
 * Lists are capped (HOST_MAX_*); `count` fields say how many there were.
 */
export const HostMetrics = Type.Object({
  cpu: Type.Object({
    total: Percent,
    cores: Type.Array(Percent, { maxItems: HOST_MAX_CORES }),
    count: Type.Integer({ minimum: 0 }),
  }),
  load: Type.Object({ one: Type.Number({ minimum: 0 }), five: Type.Number({ minimum: 0 }), fifteen: Type.Number({ minimum: 0 }) }),
  memory: Type.Object({ total: Bytes, available: Bytes, used: Bytes, swapTotal: Bytes, swapUsed: Bytes }),
  /** Seconds since the host booted. */
  uptime: Type.Number({ minimum: 0 }),
  network: Type.Object({
    rxBytesPerSec: Bytes,
    txBytesPerSec: Bytes,
    interfaces: Type.Array(
      Type.Object({ name: Type.String({ minLength: 1, maxLength: HOST_NAME_FIELD_MAX_LENGTH }), rxBytesPerSec: Bytes, txBytesPerSec: Bytes }),
      { maxItems: HOST_MAX_INTERFACES },
    ),
    count: Type.Integer({ minimum: 0 }),
  }),
  mounts: Type.Array(
    Type.Object({ path: Type.String({ minLength: 1, maxLength: HOST_MOUNT_PATH_MAX_LENGTH }), total: Bytes, used: Bytes, available: Bytes }),
    { maxItems: HOST_MAX_MOUNTS },
  ),
  timestamp: IsoTime,
});
export type HostMetrics = Static<typeof HostMetrics>;

/** `system-metrics-update` as stored in history: everything but the position, which is the entry id. */
export const SystemMetricsBody = Type.Object({
  host: HostId,
  /** The collector that took the sample. */
  collectorId: Type.String({ maxLength: 255 }),
  data: HostMetrics,
  timestamp: IsoTime,
});
export type SystemMetricsBody = Static<typeof SystemMetricsBody>;

export const SystemMetricsEvent = Type.Intersect([SystemMetricsBody, Type.Object({ position: Position })]);
export type SystemMetricsEvent = Static<typeof SystemMetricsEvent>;

/** A host as `GET /api/hosts` lists it: its collectors, when it was last seen, and its latest figures. */
export const HostSummary = Type.Object({
  cpu: Percent,
  cores: Type.Integer({ minimum: 0 }),
  load1: Type.Number({ minimum: 0 }),
  memoryTotal: Bytes,
  memoryUsed: Bytes,
  uptime: Type.Number({ minimum: 0 }),
  timestamp: IsoTime,
  position: Position,
});
export type HostSummary = Static<typeof HostSummary>;

export const HostView = Type.Object({
  host: HostId,
  collectors: Type.Array(Type.Object({ collectorId: Type.String({ maxLength: 255 }), lastSeenAt: IsoTime }), { maxItems: HOST_MAX_COLLECTORS }),
  lastSeenAt: Type.Union([IsoTime, Type.Null()]),
  latest: Type.Union([HostSummary, Type.Null()]),
});
export type HostView = Static<typeof HostView>;

/** `GET /api/hosts`: the hosts the token may see. */
export const HostList = Type.Object({ hosts: Type.Array(HostView) }, { description: 'the hosts this token may see' });
export type HostList = Static<typeof HostList>;

/** `GET /api/hosts/:host`: the host and its latest sample. */
export const HostDetail = Type.Intersect([HostView, Type.Object({ sample: Type.Union([SystemMetricsEvent, Type.Null()]) })], {
  description: 'a host, its collectors and its latest sample',
});
export type HostDetail = Static<typeof HostDetail>;

/** `GET /api/hosts/:host/metrics`: a page of a host's samples, oldest first; `next` goes on in the same direction. */
export const HostMetricsPage = Type.Object(
  { host: HostId, items: Type.Array(SystemMetricsEvent), next: Type.Union([Position, Type.Null()]) },
  { description: 'a page of host samples, oldest first' },
);
export type HostMetricsPage = Static<typeof HostMetricsPage>;

export const HostParams = Type.Object({ host: HostId });

export function hostSummary(event: SystemMetricsEvent): HostSummary {
  const d = event.data;
  return {
    cpu: d.cpu.total,
    cores: d.cpu.count,
    load1: d.load.one,
    memoryTotal: d.memory.total,
    memoryUsed: d.memory.used,
    uptime: d.uptime,
    timestamp: d.timestamp,
    position: event.position,
  };
}

// ---- REST (gateway → HTTP client) --------------------------------------------------------
// What the gateway's HTTP routes answer: their response schemas (which also serialize them and
// make /api/openapi.json) and the dashboard's types.

/** `{ code, message }`: the code is one of `ErrorCodes` (docs/errors.md). */
export const ErrorDetail = Type.Object({
  code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.values(ErrorCodes) }),
  message: Type.String(),
});
/** Every HTTP error, from a route or from the server itself (404, 413, 431…). */
export const ErrorBody = Type.Object({ error: ErrorDetail });
export type ErrorBody = Static<typeof ErrorBody>;

/** A registry entry as REST returns it: status computed (`stale`), latest sample attached. */
export const ServerView = Type.Composite([
  RegistryEntry,
  // `status` (RegistryEntry's): as reported, or `stale` when the heartbeat is older than `staleAfterMs`.
  Type.Object({
    lastHeartbeatAt: Type.Union([IsoTime, Type.Null()]),
    latest: Type.Union([ProcessInfoEvent, Type.Null()]),
  }),
], { description: 'a server: its registry entry, computed status and latest sample' });
export type ServerView = Static<typeof ServerView>;

export const ServerList = Type.Object({ servers: Type.Array(ServerView) }, { description: 'the servers the token may see, by id' });
export type ServerList = Static<typeof ServerList>;

export const ServerIdParams = Type.Object({ id: ServerId });

/** Items per page of REST history when the query gives no `limit`, and the most it may ask. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
const PageLimit = Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT }));
/** Where to go on from: the position to pass as the next `before` (or `since`); null at the end. */
const Next = Type.Union([Position, Type.Null()]);

/** `before`: the page just older than a position; `after`: the samples after one; neither: the newest. */
export const MetricsQuery = Type.Object(
  { limit: PageLimit, before: Type.Optional(Position), after: Type.Optional(Position) },
  { additionalProperties: false },
);
export type MetricsQuery = Static<typeof MetricsQuery>;

export const MetricsPage = Type.Object({ serverId: ServerId, items: Type.Array(ProcessInfoEvent), next: Next }, { description: 'a page of samples, oldest first' });
export type MetricsPage = Static<typeof MetricsPage>;

/** `since`: the lines after a position, oldest first (resume); `before`: the page just older; neither: the newest. */
export const LogsQuery = Type.Object(
  { limit: PageLimit, level: Type.Optional(LogLevel), since: Type.Optional(Position), before: Type.Optional(Position) },
  { additionalProperties: false },
);
export type LogsQuery = Static<typeof LogsQuery>;

export const LogsPage = Type.Object({
  serverId: ServerId,
  level: LogLevel,
  items: Type.Array(ProcessLogsEvent),
  next: Next,
  /** With `since`: lines after it were trimmed away before they could be read. */
  gap: Type.Optional(Type.Boolean()),
}, { description: 'a page of log lines, oldest first' });
export type LogsPage = Static<typeof LogsPage>;

/** `/healthz`: the process answers. */
export const HealthStatus = Type.Object({ status: Type.Literal('ok'), gatewayId: Type.String() }, { description: 'alive' });

/** `/readyz` 200: pub/sub through Redis works right now. */
export const ReadyStatus = Type.Object({
  status: Type.Literal('ready'),
  gatewayId: Type.String(),
  ready: Type.Literal(true),
  roundTripMs: Type.Optional(Type.Number({ minimum: 0 })),
}, { description: 'ready' });

/** `/readyz` 503: why not, as an error (the fields beside `error` are absent while the gateway closes). */
export const NotReadyStatus = Type.Object({
  error: ErrorDetail,
  status: Type.Optional(Type.Literal('not ready')),
  gatewayId: Type.Optional(Type.String()),
  ready: Type.Optional(Type.Literal(false)),
  reason: Type.Optional(Type.String()),
}, { description: 'not ready: Redis is away, or the gateway is draining or shutting down' });
