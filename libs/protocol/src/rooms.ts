// Room names, exactly as the earlier system's dashboards expect them.
import { HOST_ID_PATTERN, LOG_LEVELS, SERVER_ID_PATTERN, levelsFrom, type LogLevel } from './schemas.js';

const METRICS_PREFIX = 'server-metrics-';
const LOGS_PREFIX = 'server-logs-';
const serverIdRe = new RegExp(SERVER_ID_PATTERN);

export function metricsRoom(serverId: string): string {
  return METRICS_PREFIX + serverId;
}

export function logsRoom(serverId: string): string {
  return LOGS_PREFIX + serverId;
}

/**
 * Each log line is broadcast once, to the room of its own level: `server-logs-<id>@<level>`.
 * A subscriber at level L is in the rooms of L and every level above, so it receives each line
 * that meets L exactly once. (`@` cannot occur in a server id, so the name parses back.)
 */
export function logsLevelRoom(serverId: string, level: LogLevel): string {
  return `${LOGS_PREFIX}${serverId}@${level}`;
}

export function logsRoomsFrom(serverId: string, level: LogLevel): string[] {
  return levelsFrom(level).map((l) => logsLevelRoom(serverId, l));
}

export type ParsedRoom = { kind: 'metrics' | 'logs'; serverId: string; level?: LogLevel };

/** Parses a room a client may name in `unsubscribe`; null for anything else. */
export function parseRoom(room: string): ParsedRoom | null {
  let kind: ParsedRoom['kind'];
  let serverId: string;
  if (room.startsWith(METRICS_PREFIX)) {
    kind = 'metrics';
    serverId = room.slice(METRICS_PREFIX.length);
  } else if (room.startsWith(LOGS_PREFIX)) {
    kind = 'logs';
    serverId = room.slice(LOGS_PREFIX.length);
    const at = serverId.lastIndexOf('@');
    if (at >= 0) {
      const level = serverId.slice(at + 1) as LogLevel;
      serverId = serverId.slice(0, at);
      if (!LOG_LEVELS.includes(level) || !serverIdRe.test(serverId)) return null;
      return { kind, serverId, level };
    }
  } else {
    return null;
  }
  return serverIdRe.test(serverId) ? { kind, serverId } : null;
}

// ---- host metrics -----------------------------------------------------------------------

const SYSTEM_METRICS_PREFIX = 'system-metrics-';
const hostIdRe = new RegExp(HOST_ID_PATTERN);

/** The room a collector broadcasts its host's samples to: `system-metrics-<host>`. */
export function systemMetricsRoom(host: string): string {
  return SYSTEM_METRICS_PREFIX + host;
}

/** The host of a `system-metrics-<host>` room a client may name in `unsubscribe`; null for anything else. */
export function parseSystemMetricsRoom(room: string): string | null {
  if (!room.startsWith(SYSTEM_METRICS_PREFIX)) return null;
  const host = room.slice(SYSTEM_METRICS_PREFIX.length);
  return hostIdRe.test(host) ? host : null;
}
