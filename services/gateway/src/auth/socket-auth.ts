// Who a socket is: the handshake check (a namespace middleware) and the one accessor for the
// permissions a socket holds. The token travels in `socket.handshake.auth.token` only: a token in
// the URL ends up in access logs, proxies and browser history.
import type { ExtendedError, Socket } from 'socket.io';
import type { Logger } from 'pino';
import { ErrorCodes, VigilError, type DisconnectReason, type Permissions } from '@vigil/protocol';
import type { Verifier } from './verifier.js';
import type { Client } from '../client.js';

/** Allows nothing: what a socket holds if, by a bug, the handshake check never ran (fail closed). */
const DENY_ALL: Permissions = { subject: 'nobody', logs: false, admin: false, expiresAt: 0, canSee: () => false, canSeeHost: () => false };

const KEY = 'vigilPermissions';

/** The permissions of a socket's current token. */
export function socketPermissions(socket: Socket): Permissions {
  return (socket.data as Record<string, Permissions | undefined>)[KEY] ?? DENY_ALL;
}

export function setSocketPermissions(socket: Socket, permissions: Permissions): void {
  (socket.data as Record<string, Permissions>)[KEY] = permissions;
}

/**
 * The handshake check: a verified token, or a `connect_error` whose `data` is `{ code, message }`.
 * Runs before the session middleware, so a refused client never touches Redis.
 */
export function handshakeAuth(verifier: Verifier, logger: Logger) {
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const inQuery = token === undefined && verifier.enabled && 'token' in socket.handshake.query;
    const checked = inQuery
      ? Promise.reject(new VigilError(ErrorCodes.UNAUTHORIZED, 'no token: send it in the handshake auth ({ auth: { token } }), never in the URL'))
      : verifier.verify(token);
    checked.then(
      (permissions) => {
        setSocketPermissions(socket, permissions);
        next();
      },
      (err: unknown) => {
        const reason = refusalOf(err, logger);
        logger.debug({ code: reason.code, reason: reason.message, address: socket.handshake.address }, 'socket handshake refused');
        const refused: ExtendedError = new Error(reason.message);
        refused.data = reason;
        next(refused);
      },
    );
  };
}

/** A verification failure as `{ code, message }`; anything unexpected is logged and told as UNAUTHORIZED. */
export function refusalOf(err: unknown, logger: Logger): DisconnectReason {
  if (err instanceof VigilError && err.expose) return { code: err.code, message: err.message };
  logger.error({ code: ErrorCodes.INTERNAL, err }, 'token verification failed unexpectedly');
  return { code: ErrorCodes.UNAUTHORIZED, message: 'token could not be verified' };
}

/** May a token hold a subscription of this kind on this server? (Subscribe, restore and refresh ask alike.) */
export function mayHold(permissions: Permissions, room: { kind: 'metrics' | 'logs'; serverId: string }): boolean {
  return permissions.canSee(room.serverId) && (room.kind !== 'logs' || permissions.logs);
}

/** A subscribe the client's token does not allow: FORBIDDEN (a socket already holds a valid token, unlike REST's anonymous probes). */
export function requireSubscribe(client: Client, room: { kind: 'metrics' | 'logs'; serverId: string }): void {
  const permissions = client.permissions;
  if (mayHold(permissions, room)) return;
  const what = permissions.canSee(room.serverId) ? `the logs of "${room.serverId}"` : `server "${room.serverId}"`;
  throw new VigilError(ErrorCodes.FORBIDDEN, `this token may not see ${what}`);
}
