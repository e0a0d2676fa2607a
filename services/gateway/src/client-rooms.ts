// What a client holds, read from its socket's rooms: one place that knows that a log
// subscription is one room per level, and a client's logical rooms are what it named.
import type { Socket } from 'socket.io';
import { ErrorCodes, LOG_LEVELS, VigilError, alertsRoom, logsRoom, metricsRoom, parseAlertRoom, parseRoom, parseSystemMetricsRoom, type LogLevel } from '@vigil/protocol';
import type { MonitoringDeps } from './socket-context.js';
import type { Client } from './client.js';

/** `interval`: the sampling interval the client asked for that server, if it asked one. */
export type SessionRoom = { kind: 'metrics'; serverId: string; interval?: number } | { kind: 'logs'; serverId: string; level: LogLevel };

/** The subscriptions a socket holds, as a session stores them. */
export function roomsOf(rooms: Iterable<string>): SessionRoom[] {
  const metrics: SessionRoom[] = [];
  const logLevel = new Map<string, number>();
  for (const room of rooms) {
    const parsed = parseRoom(room);
    if (parsed?.kind === 'metrics') metrics.push({ kind: 'metrics', serverId: parsed.serverId });
    else if (parsed?.kind === 'logs' && parsed.level) {
      const i = LOG_LEVELS.indexOf(parsed.level);
      logLevel.set(parsed.serverId, Math.min(i, logLevel.get(parsed.serverId) ?? i));
    }
  }
  const logs: SessionRoom[] = [...logLevel].map(([serverId, i]) => ({ kind: 'logs', serverId, level: LOG_LEVELS[i]! }));
  return [...metrics, ...logs];
}

/** The rooms a client holds as it named them: a log subscription is one `server-logs-<id>`; host rooms as they are. */
export function logicalRooms(client: Client): string[] {
  const servers = roomsOf(client.rooms).map((r) => (r.kind === 'metrics' ? metricsRoom(r.serverId) : logsRoom(r.serverId)));
  // An alert subscription is one room per severity, named as the client named it (`alerts`, `alerts-<id>`).
  const alerts = new Set<string>();
  for (const room of client.rooms) {
    const parsed = parseAlertRoom(room);
    if (parsed?.severity) alerts.add(alertsRoom(parsed.serverId));
  }
  return [...servers, ...[...client.rooms].filter((r) => parseSystemMetricsRoom(r) !== null), ...alerts];
}

/** The vigil rooms a client is in, each level room counted: what the room limit bounds. */
export function roomCount(client: Client): number {
  let n = 0;
  for (const room of client.rooms) if (room !== client.id) n++;
  return n;
}

/**
 * Refuses a subscription that names a server no collector registered, or that would take the
 * socket past its room limit (`adding` rooms more; a log subscription is one room per level).
 * `known`: the client holds this server's room already, or it is a room of its own session: it
 * was checked when first joined (Redis may have lost the registry since, as after a restart, and
 * the collector writes it again on its next tick; a re-subscribe must not fail meanwhile).
 */
export async function checkSubscription(
  client: Client,
  deps: Pick<MonitoringDeps, 'limits' | 'isRegistered'>,
  serverId: string,
  adding: number,
  known = false,
): Promise<void> {
  // The token was checked first (requireSubscribe): a server outside it is FORBIDDEN whether or
  // not it exists, so only a permitted id learns whether it is registered.
  if (!known && deps.isRegistered && !(await deps.isRegistered(serverId))) {
    throw new VigilError(ErrorCodes.UNKNOWN_SERVER, `no server "${serverId}" is registered; subscribe once its collector runs`);
  }
  if (adding > 0 && roomCount(client) + adding > deps.limits.maxRooms) {
    throw new VigilError(ErrorCodes.TOO_MANY_ROOMS, `a client may hold at most ${deps.limits.maxRooms} rooms (a log subscription takes one per level)`);
  }
}

/**
 * Joins `rooms` if the client may still hold them, checked and joined in one synchronous step.
 * While a subscribe awaited Redis, other subscribes of the same client may have joined (a burst
 * would otherwise pass the room limit together) and `refresh-token` may have swapped its token
 * and left what the new one forbids (a room joined after that would be missed). `recheck` throws
 * if the client's current token no longer allows the subscription. `leavingAfter`: rooms the caller
 * leaves right after joining (a replaced subscription), which count as freed.
 */
export function joinChecked(client: Client, deps: Pick<MonitoringDeps, 'limits'>, rooms: string[], recheck: () => void, leavingAfter = 0): Promise<void> | void {
  recheck();
  let adding = -leavingAfter;
  for (const room of rooms) if (!client.rooms.has(room)) adding++;
  if (adding > 0 && roomCount(client) + adding > deps.limits.maxRooms) {
    throw new VigilError(ErrorCodes.TOO_MANY_ROOMS, `a client may hold at most ${deps.limits.maxRooms} rooms (a log subscription takes one per level)`);
  }
  return client.join(rooms);
}

/** The level rooms a client holds for one server's logs. */
export function heldLogRooms(client: Client, serverId: string): string[] {
  return [...client.rooms].filter((r) => {
    const parsed = parseRoom(r);
    return parsed?.kind === 'logs' && parsed.serverId === serverId && parsed.level !== undefined;
  });
}

/**
 * A client that re-joins its subscriptions itself after any reconnect (the client library says so
 * in its handshake): the gateway neither restores its session nor replays for it.
 */
export function rejoinsItself(socket: Socket): boolean {
  return (socket.handshake.auth as { vigilRestore?: unknown } | undefined)?.vigilRestore === false;
}
