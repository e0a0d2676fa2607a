// subscribe-alerts / unsubscribe-alerts: join the alert rooms of a scope (every server, or one) at
// a severity and above, and send the alerts firing now in that scope, then every change arrives
// as `alert` through the adapter. Every server's rooms need a token that sees every server (a room
// cannot filter per client); a token limited to some servers subscribes per server. A client that
// holds every server's alerts joins no per-server room, so each alert reaches it once.
import {
  ClientEvents,
  DEFAULT_ALERT_SEVERITY,
  ErrorCodes,
  ServerEvents,
  SubscribeAlerts,
  UnsubscribeAlerts,
  VigilError,
  alertRoomsFrom,
  alertsRoom,
  comparePositions,
  compile,
  isPosition,
  meetsSeverity,
  parseAlertRoom,
  type AckWarning,
  type AlertEvent,
  type Permissions,
  type ReplyOf,
} from '@vigil/protocol';
import { checkSubscription, joinChecked, roomCount } from './client-rooms.js';
import { requireSubscribe } from './auth/socket-auth.js';
import type { Client } from './client.js';
import type { SocketContext } from './socket-context.js';

const subscribeV = compile(SubscribeAlerts);
const unsubscribeV = compile(UnsubscribeAlerts);

export function registerAlertSubscriptions(ctx: SocketContext): void {
  ctx.on(ClientEvents.subscribeAlerts, subscribeV, (p) => subscribeAlerts(ctx, p.serverId ?? null, p.severity ?? DEFAULT_ALERT_SEVERITY));
  ctx.on(ClientEvents.unsubscribeAlerts, unsubscribeV, (p) => leaveAlerts(ctx, p?.serverId ?? null));
}

/** The severity rooms a client holds for a scope (null: every server; undefined: every scope). */
export function heldAlertRooms(client: Client, serverId?: string | null): string[] {
  return [...client.rooms].filter((r) => {
    const parsed = parseAlertRoom(r);
    return parsed?.severity !== undefined && (serverId === undefined || parsed.serverId === serverId);
  });
}

async function subscribeAlerts(ctx: SocketContext, serverId: string | null, severity: ReplyOf<'subscribe-alerts'>['severity']): Promise<ReplyOf<'subscribe-alerts'>> {
  const { client, deps, log } = ctx;
  const permissions = client.permissions;
  if (serverId === null) {
    if (!permissions.seesAll) {
      throw new VigilError(ErrorCodes.FORBIDDEN, 'this token may see only some servers: subscribe to alerts per server ({ serverId })');
    }
  } else {
    requireSubscribe(client, { kind: 'metrics', serverId });
  }
  const room = alertsRoom(serverId);
  const timestamp = new Date().toISOString();
  if (serverId !== null && heldAlertRooms(client, null).length > 0) {
    return { room, serverId, severity, timestamp, firing: 0, covered: true };
  }
  const want = alertRoomsFrom(serverId, severity);
  const held = heldAlertRooms(client, serverId);
  // Every server's rooms replace the per-server ones: each alert is in both.
  const drop = [...held.filter((r) => !want.includes(r)), ...(serverId === null ? heldAlertRooms(client).filter((r) => parseAlertRoom(r)!.serverId !== null) : [])];
  const adding = want.filter((r) => !client.rooms.has(r)).length - drop.length;
  if (serverId !== null) await checkSubscription(client, deps, serverId, Math.max(0, adding), held.length > 0);
  else if (adding > 0 && roomCount(client) + adding > deps.limits.maxRooms) {
    throw new VigilError(ErrorCodes.TOO_MANY_ROOMS, `a client may hold at most ${deps.limits.maxRooms} rooms (an alert subscription takes one per severity)`);
  }
  // Join first, then read what fires: a change broadcast meanwhile is sent live and the snapshot
  // does not repeat an alert already sent at that position or later.
  const sentLive = new Map<string, string>();
  const stopWatching = client.watchOutgoing((event, sent) => {
    const data = sent as { id?: unknown; position?: unknown } | undefined;
    if (event === ServerEvents.alert && typeof data?.id === 'string' && isPosition(data.position)) sentLive.set(data.id, data.position);
  });
  let sent = 0;
  let warning: AckWarning | undefined;
  try {
    // Checked again with the join (client-rooms.ts joinChecked): the token or the rooms may have changed meanwhile.
    await joinChecked(
      client,
      deps,
      want,
      () => {
        if (serverId !== null) requireSubscribe(client, { kind: 'metrics', serverId });
        else if (!client.permissions.seesAll) throw new VigilError(ErrorCodes.FORBIDDEN, 'the token was refreshed and may no longer see every server');
      },
      drop.length,
    );
    for (const r of drop) await client.leave(r);
    try {
      await deps.syncSubscriptions();
      const firing = deps.alerts ? await deps.alerts.firing(inScope(permissions, serverId, severity)) : [];
      for (const alert of firing.reverse()) {
        const live = sentLive.get(alert.id);
        if (live !== undefined && comparePositions(live, alert.position) >= 0) continue;
        client.emit(ServerEvents.alert, alert);
        sent++;
      }
    } catch (err) {
      warning = { code: ErrorCodes.REDIS_UNAVAILABLE, message: 'subscribed, but the alerts firing now could not be read' };
      log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'firing alerts unavailable');
    }
  } finally {
    stopWatching();
  }
  client.emit(ServerEvents.subscriptionConfirmed, { room, serverId, severity, timestamp });
  return { room, serverId, severity, timestamp, firing: sent, covered: false, ...(warning ? { warning } : {}) };
}

function inScope(permissions: Permissions, serverId: string | null, severity: ReplyOf<'subscribe-alerts'>['severity']) {
  return (a: AlertEvent) => (serverId === null ? permissions.canSee(a.serverId) : a.serverId === serverId) && meetsSeverity(a.severity, severity);
}

/** Leaves a scope's alert rooms (`unsubscribe-alerts`, or `unsubscribe { room: 'alerts…' }`). */
export async function leaveAlerts(ctx: SocketContext, serverId: string | null): Promise<ReplyOf<'unsubscribe-alerts'>> {
  const { client } = ctx;
  const rooms = heldAlertRooms(client, serverId);
  for (const r of rooms) await client.leave(r);
  const confirmation = { room: alertsRoom(serverId), timestamp: new Date().toISOString() };
  client.emit(ServerEvents.unsubscriptionConfirmed, confirmation);
  return { ...confirmation, wasSubscribed: rooms.length > 0 };
}

/** On a token refresh: leaves the alert scopes the new token does not allow; returns them as named. */
export async function leaveForbiddenAlerts(ctx: SocketContext, permissions: Permissions): Promise<string[]> {
  const scopes = new Set(heldAlertRooms(ctx.client).map((r) => parseAlertRoom(r)!.serverId));
  const left: string[] = [];
  for (const serverId of scopes) {
    if (serverId === null ? permissions.seesAll : permissions.canSee(serverId)) continue;
    await leaveAlerts(ctx, serverId);
    left.push(alertsRoom(serverId));
  }
  return left;
}
