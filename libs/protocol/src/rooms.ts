// Room names, exactly as the earlier system's dashboards expect them.
import { SERVER_ID_PATTERN } from './schemas.js';

const METRICS_PREFIX = 'server-metrics-';
const LOGS_PREFIX = 'server-logs-';
const serverIdRe = new RegExp(SERVER_ID_PATTERN);

export function metricsRoom(serverId: string): string {
  return METRICS_PREFIX + serverId;
}

export function logsRoom(serverId: string): string {
  return LOGS_PREFIX + serverId;
}

export type ParsedRoom = { kind: 'metrics' | 'logs'; serverId: string };

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
  } else {
    return null;
  }
  return serverIdRe.test(serverId) ? { kind, serverId } : null;
}
