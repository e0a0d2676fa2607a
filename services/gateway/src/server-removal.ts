// Removing a server from the gateway's side: the store removes it (one Lua script, see
// @vigil/store server-removal.ts) and, only if that removed something, its watchers are told with
// `server-removed`, once, through the adapter: one broadcast to its metrics room and its log
// rooms reaches every gateway's clients, each client once whatever rooms of it it holds.
// Used by DELETE /api/servers/:id (routes/server-admin.ts) and the retention sweep. Then its
// alerts still firing are resolved (removed-alerts.ts).
import type { Namespace } from 'socket.io';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { LOG_LEVELS, ServerEvents, logsLevelRoom, metricsRoom, type ServerRemovalReason, type ServerRemoved } from '@vigil/protocol';
import type { ServerRemover, ServerTrace } from '@vigil/store';

/** Every room whose clients hear that a server was removed. */
export function roomsOfServer(serverId: string): string[] {
  return [metricsRoom(serverId), ...LOG_LEVELS.map((level) => logsLevelRoom(serverId, level))];
}

export class ServerRemoval {
  readonly #nsp: Namespace;
  readonly #remover: ServerRemover;
  readonly #logger: Logger;
  readonly #removed: Counter<'reason'>;
  readonly #after: ((serverId: string, reason: ServerRemovalReason) => Promise<void>) | undefined;

  /** `after`: run once a removal is announced (its alerts resolved, removed-alerts.ts); it must not throw. */
  constructor(nsp: Namespace, remover: ServerRemover, logger: Logger, registry: Registry, after?: (serverId: string, reason: ServerRemovalReason) => Promise<void>) {
    this.#nsp = nsp;
    this.#after = after;
    this.#remover = remover;
    this.#logger = logger;
    this.#removed = new Counter({
      name: 'vigil_gateway_servers_removed_total',
      help: 'Servers this gateway removed with all their keys, by reason (deleted by an admin, or past the retention)',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  get remover(): ServerRemover {
    return this.#remover;
  }

  /** An admin's delete: false when there was nothing of the server to remove. */
  async delete(serverId: string, by: string): Promise<ServerRemoved | null> {
    if (!(await this.#remover.remove(serverId))) return null;
    const event = this.#announce(serverId, 'deleted', { by });
    await this.#after?.(serverId, 'deleted');
    return event;
  }

  /** The retention sweep: false when the server showed life or another gateway removed it first. */
  async expire(trace: ServerTrace, cutoffMs: number): Promise<boolean> {
    if (!(await this.#remover.removeIfExpired(trace, cutoffMs))) return false;
    this.#announce(trace.serverId, 'retention', { lastHeartbeatAt: trace.heartbeatAt });
    await this.#after?.(trace.serverId, 'retention');
    return true;
  }

  #announce(serverId: string, reason: ServerRemovalReason, fields: Record<string, unknown>): ServerRemoved {
    const event: ServerRemoved = { serverId, reason, timestamp: new Date().toISOString() };
    this.#removed.inc({ reason });
    this.#logger.info({ serverId, reason, ...fields }, 'server removed with all its keys');
    this.#nsp.to(roomsOfServer(serverId)).emit(ServerEvents.serverRemoved, event);
    return event;
  }
}
