// A connected socket's token over its life: the expiry clock armed at connect, and
// `refresh-token`, which swaps in a new token of the same subject and leaves the rooms it no
// longer allows. The event goes through the same handler wrapper as every other (rate limit,
// validation, typed ack).
import {
  ClientEvents,
  ErrorCodes,
  RefreshToken,
  VigilError,
  compile,
  logsRoom,
  metricsRoom,
  type Permissions,
} from '@vigil/protocol';
import { roomsOf } from '../client-rooms.js';
import { leaveForbiddenAlerts } from '../alert-subscriptions.js';
import type { SocketContext } from '../socket-context.js';
import { mayHold } from './socket-auth.js';
import { TokenExpiry } from './token-expiry.js';
import { leaveForbiddenHosts } from '../system-metrics-subscriptions.js';
import type { Verifier } from './verifier.js';

const refreshV = compile(RefreshToken);

/** What the ack says for a token that never expires (auth off): the latest time ISO 8601 writes in four digits. */
const NEVER = '9999-12-31T23:59:59.999Z';

export function registerTokenLifecycle(
  ctx: SocketContext,
  leave: (room: string) => Promise<unknown>,
  { verifier, warningMs }: { verifier: Verifier; warningMs: number },
): void {
  const { client } = ctx;
  const expiry = new TokenExpiry(client, warningMs);
  expiry.arm(client.permissions.expiresAt);

  ctx.on(ClientEvents.refreshToken, refreshV, async (p) => {
    const current = client.permissions;
    const next = await verifier.verify(p.token);
    // One connection, one identity: logs and audit stay truthful. To switch users, reconnect.
    if (next.subject !== current.subject) {
      throw new VigilError(ErrorCodes.UNAUTHORIZED, 'the new token is for another subject ("sub"); reconnect to sign in as someone else');
    }
    client.permissions = next;
    expiry.arm(next.expiresAt);
    const left = [
      ...(await leaveForbidden(ctx, next, leave)),
      ...(await leaveForbiddenHosts(client, next, leave)),
      ...(await leaveForbiddenAlerts(ctx, next)),
    ];
    ctx.log.debug({ subject: next.subject, left: left.length }, 'token refreshed');
    return { expiresAt: Number.isFinite(next.expiresAt) ? new Date(next.expiresAt).toISOString() : NEVER, left };
  });
}

/** Leaves, as the client named them, the subscriptions `permissions` does not allow. */
async function leaveForbidden(ctx: SocketContext, permissions: Permissions, leave: (room: string) => Promise<unknown>): Promise<string[]> {
  const left: string[] = [];
  for (const room of roomsOf(ctx.client.rooms)) {
    if (mayHold(permissions, room)) continue;
    const named = room.kind === 'metrics' ? metricsRoom(room.serverId) : logsRoom(room.serverId);
    await leave(named);
    left.push(named);
  }
  return left;
}
