// Watches what a socket is sent while a subscription is being set up, so that history read from
// Redis is never sent twice or behind something newer.
import type { Client } from './client.js';
import { comparePositions, isPosition } from '@vigil/protocol';

type Watched = { serverId?: unknown; host?: unknown; position?: unknown; logData?: { level?: unknown } };

export class OutgoingWatch {
  newest: string | null = null;
  /**
   * Oldest position per log level. A log subscription spans one room per level and each room's
   * subscription takes effect on its own, so "sent live from here on" holds per level only.
   */
  readonly oldestByLevel = new Map<string, string>();
  readonly #stop: () => void;

  /** Watches `event` for one server (its `serverId`), or with `key: 'host'` for one host. */
  constructor(client: Client, event: string, id: string, key: 'serverId' | 'host' = 'serverId') {
    this.#stop = client.watchOutgoing((name, sent) => {
      const data = sent as Watched | undefined;
      if (name !== event || data?.[key] !== id || !isPosition(data.position)) return;
      if (this.newest === null || comparePositions(data.position, this.newest) > 0) this.newest = data.position;
      const level = data.logData?.level;
      if (typeof level === 'string') {
        const held = this.oldestByLevel.get(level);
        if (held === undefined || comparePositions(data.position, held) < 0) this.oldestByLevel.set(level, data.position);
      }
    });
  }

  stop(): void {
    this.#stop();
  }
}
