// Alerts, once: severities, the alert event, the rules a collector evaluates (its config schema),
// the alert rooms and the alert subscribe payloads. A rule firing or resolving is one alert event,
// stored in the alerts stream and broadcast to the rooms of its severity; what fires now is kept
// in the firing hash (keys.ts), one field per alert id.
import { Type, type Static } from '@sinclair/typebox';
import {
  ALERT_COUNT_MAX,
  ALERT_MESSAGE_MAX_LENGTH,
  ALERT_RULES_MAX,
  ALERT_WINDOW_MAX_MS,
  ALERT_WINDOW_MIN_MS,
} from './limits.js';
import { DEFAULT_PAGE_LIMIT, IsoTime, LogLevel, MAX_PAGE_LIMIT, Position, SERVER_ID_PATTERN, ServerId } from './schemas.js';

/** Least to most severe. A subscriber at severity S receives S and above. */
export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const AlertSeverity = Type.Union(ALERT_SEVERITIES.map((s) => Type.Literal(s)));
export type AlertSeverity = Static<typeof AlertSeverity>;

export function severitiesFrom(severity: AlertSeverity): AlertSeverity[] {
  return ALERT_SEVERITIES.slice(ALERT_SEVERITIES.indexOf(severity));
}

export function meetsSeverity(severity: AlertSeverity, atLeast: AlertSeverity): boolean {
  return ALERT_SEVERITIES.indexOf(severity) >= ALERT_SEVERITIES.indexOf(atLeast);
}

export const ALERT_STATES = ['firing', 'resolved'] as const;
export const AlertState = Type.Union(ALERT_STATES.map((s) => Type.Literal(s)));
export type AlertState = Static<typeof AlertState>;

/** Rule ids: what an alert id, a config key and a metric label can carry. */
export const RULE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const RuleId = Type.String({ pattern: RULE_ID_PATTERN, maxLength: 64 });

/** Raised by gateways for a server whose collector stopped heartbeating; no config rule may take the id. */
export const STALE_RULE_ID = 'stale';

/** An alert's id: the same for its firing and its resolution (`<serverId>/<rule>`). */
export function alertId(serverId: string, rule: string): string {
  return `${serverId}/${rule}`;
}

/** An alert event as stored: everything but the position, which is its entry id in the alerts stream. */
export const AlertBody = Type.Object(
  {
    id: Type.String({ maxLength: 200 }),
    rule: RuleId,
    severity: AlertSeverity,
    serverId: ServerId,
    host: Type.String({ maxLength: 255 }),
    state: AlertState,
    message: Type.String({ maxLength: ALERT_MESSAGE_MAX_LENGTH }),
    /** The measured value that fired or resolved it (CPU %, RSS bytes, a count, seconds), or null. */
    value: Type.Union([Type.Number(), Type.Null()]),
    /** When the alert started firing (the same on its resolution). */
    since: IsoTime,
    timestamp: IsoTime,
  },
  { additionalProperties: false },
);
export type AlertBody = Static<typeof AlertBody>;

/** `alert`, and each entry of the firing hash and of `GET /api/alerts`. */
export const AlertEvent = Type.Object(
  { ...AlertBody.properties, position: Position },
  { additionalProperties: false },
);
export type AlertEvent = Static<typeof AlertEvent>;

// ---- REST: GET /api/alerts ------------------------------------------------------------------

/** `state=firing` (default): what fires now; `all`: every firing and resolution; newest first, `before` pages back. */
export const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('all')], { default: 'firing' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT })),
    /** The `next` of the previous page: alerts older than that position. */
    before: Type.Optional(Position),
  },
  { additionalProperties: false },
);
export type AlertsQuery = Static<typeof AlertsQuery>;

export const AlertsPage = Type.Object(
  {
    alerts: Type.Array(AlertEvent),
    /** Pass as `before` for the next page; null when there is none. */
    next: Type.Union([Position, Type.Null()]),
  },
  { description: 'a page of alerts, newest first' },
);
export type AlertsPage = Static<typeof AlertsPage>;

// ---- rooms ----------------------------------------------------------------------------------

const ALERTS_ROOM = 'alerts';
const ALERTS_SERVER_PREFIX = 'alerts-';
const serverIdRe = new RegExp(SERVER_ID_PATTERN);

/** The room a client names: `alerts` (every server) or `alerts-<serverId>`. */
export function alertsRoom(serverId?: string | null): string {
  return serverId ? ALERTS_SERVER_PREFIX + serverId : ALERTS_ROOM;
}

/**
 * Each alert is broadcast once to the room of its own severity, for every server and for its
 * server: `alerts@<severity>` and `alerts-<serverId>@<severity>`. A subscriber at S sits in the
 * rooms of S and above, so it receives each alert that meets S once (as log levels do).
 */
export function alertsSeverityRoom(serverId: string | null, severity: AlertSeverity): string {
  return `${alertsRoom(serverId)}@${severity}`;
}

export function alertRoomsFrom(serverId: string | null, severity: AlertSeverity): string[] {
  return severitiesFrom(severity).map((s) => alertsSeverityRoom(serverId, s));
}

export type ParsedAlertRoom = { serverId: string | null; severity?: AlertSeverity };

/** Parses an alert room (as named or a severity room); null for anything else. */
export function parseAlertRoom(room: string): ParsedAlertRoom | null {
  let name = room;
  let severity: AlertSeverity | undefined;
  const at = room.lastIndexOf('@');
  if (at >= 0) {
    const s = room.slice(at + 1) as AlertSeverity;
    if (!ALERT_SEVERITIES.includes(s)) return null;
    severity = s;
    name = room.slice(0, at);
  }
  let serverId: string | null;
  if (name === ALERTS_ROOM) serverId = null;
  else if (name.startsWith(ALERTS_SERVER_PREFIX) && serverIdRe.test(name.slice(ALERTS_SERVER_PREFIX.length))) {
    serverId = name.slice(ALERTS_SERVER_PREFIX.length);
  } else return null;
  return severity === undefined ? { serverId } : { serverId, severity };
}

// ---- client → gateway -----------------------------------------------------------------------

export const DEFAULT_ALERT_SEVERITY: AlertSeverity = 'info';

/** `subscribe-alerts`: every server the token may see (needs a token for `*`), or one server. */
export const SubscribeAlerts = Type.Object(
  { serverId: Type.Optional(ServerId), severity: Type.Optional(AlertSeverity) },
  { additionalProperties: false },
);
export type SubscribeAlerts = Static<typeof SubscribeAlerts>;

export const UnsubscribeAlerts = Type.Union([
  Type.Undefined(),
  Type.Null(),
  Type.Object({ serverId: Type.Optional(ServerId) }, { additionalProperties: false }),
]);
export type UnsubscribeAlerts = Static<typeof UnsubscribeAlerts>;

// ---- rules (the collector's config) ---------------------------------------------------------

const Window = Type.Integer({ minimum: ALERT_WINDOW_MIN_MS, maximum: ALERT_WINDOW_MAX_MS });
const For = Type.Integer({ minimum: 0, maximum: ALERT_WINDOW_MAX_MS });
const Count = Type.Integer({ minimum: 0, maximum: ALERT_COUNT_MAX });
const common = {
  id: RuleId,
  /** Shown in the alert's message; default: the id. */
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
  /** Default `warning`. */
  severity: Type.Optional(AlertSeverity),
};

/** Every rule kind, each a closed object: `kind` says which. */
export const AlertRuleSchemas = {
  /** CPU (percent of one core) above `abovePercent` in every sample for `forMs`. */
  cpu: Type.Object({ ...common, kind: Type.Literal('cpu'), abovePercent: Type.Number({ minimum: 0, maximum: 100_000 }), forMs: Type.Optional(For) }, { additionalProperties: false }),
  /** RSS above `aboveBytes` in every sample for `forMs`. */
  memory: Type.Object({ ...common, kind: Type.Literal('memory'), aboveBytes: Type.Integer({ minimum: 1 }), forMs: Type.Optional(For) }, { additionalProperties: false }),
  /** The process is gone (and has been for `forMs`). */
  exited: Type.Object({ ...common, kind: Type.Literal('exited'), forMs: Type.Optional(For) }, { additionalProperties: false }),
  /** More than `moreThan` restarts within `windowMs`. */
  restarts: Type.Object({ ...common, kind: Type.Literal('restarts'), moreThan: Count, windowMs: Window }, { additionalProperties: false }),
  /** More than `moreThan` log lines at `level` or above (matching `pattern`, if given) within `windowMs`. */
  logs: Type.Object(
    {
      ...common,
      kind: Type.Literal('logs'),
      level: Type.Optional(LogLevel),
      pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
      moreThan: Count,
      windowMs: Window,
    },
    { additionalProperties: false },
  ),
} as const;
export const ALERT_RULE_KINDS = Object.keys(AlertRuleSchemas) as Array<keyof typeof AlertRuleSchemas>;
export const AlertRule = Type.Union(Object.values(AlertRuleSchemas));
export type AlertRule = Static<typeof AlertRule>;
export const AlertRules = Type.Array(AlertRule, { maxItems: ALERT_RULES_MAX });

/** A log rule's default level. */
export const DEFAULT_ALERT_LOG_LEVEL = 'error' as const;
/** A rule's default severity. */
export const DEFAULT_RULE_SEVERITY: AlertSeverity = 'warning';
