// A removed server's alerts: whatever still fires for it (`stale`, `exited`, a rule left firing
// when its collector stopped) is resolved when the server is removed, so the firing hash,
// `GET /api/alerts` and every subscriber's list keep no alert of a server that is gone. The
// writer's check-and-set resolves each once, whichever gateway removed the server.
import type { Logger } from 'pino';
import { ErrorCodes, alertId, type AlertEvent, type ServerRemovalReason } from '@vigil/protocol';
import type { AlertStore, AlertWriter } from '@vigil/store';

export class RemovedServerAlerts {
  readonly #alerts: AlertStore;
  readonly #writer: AlertWriter;
  readonly #logger: Logger;

  constructor(alerts: AlertStore, writer: AlertWriter, logger: Logger) {
    this.#alerts = alerts;
    this.#writer = writer;
    this.#logger = logger;
  }

  /** Resolves every alert firing for `serverId`; never throws (the server is removed either way). */
  async resolve(serverId: string, reason: ServerRemovalReason): Promise<void> {
    try {
      const firing = await this.#alerts.firing((a) => a.serverId === serverId, alertId(serverId, '*'));
      if (firing.length === 0) return;
      const timestamp = new Date().toISOString();
      const message = reason === 'deleted' ? 'the server was removed by an administrator' : 'the server was removed after the retention';
      const resolved = firing.map(({ position: _position, ...body }: AlertEvent) => ({ body: { ...body, state: 'resolved' as const, message, timestamp } }));
      const positions = await this.#writer.write(resolved);
      this.#logger.info({ serverId, resolved: positions.filter((p) => p !== null).length }, 'alerts of a removed server resolved');
    } catch (err) {
      this.#logger.warn({ code: ErrorCodes.REDIS_WRITE_FAILED, serverId, err: (err as Error).message }, 'alerts of a removed server not resolved');
    }
  }
}
