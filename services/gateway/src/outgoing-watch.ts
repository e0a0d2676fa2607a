// Watches what a socket is sent while a subscription is being set up, so that history read from
// Redis is never sent twice or behind something newer.
import type { Socket } from 'socket.io';
import { comparePositions, isPosition } from '@vigil/protocol';

export class OutgoingWatch {
  oldest: string | null = null;
  newest: string | null = null;
  readonly #socket: Socket;
  readonly #listener: (event: string, data: { serverId?: unknown; position?: unknown } | undefined) => void;

  constructor(socket: Socket, event: string, serverId: string) {
    this.#socket = socket;
    this.#listener = (name, data) => {
      if (name !== event || data?.serverId !== serverId || !isPosition(data.position)) return;
      if (this.oldest === null || comparePositions(data.position, this.oldest) < 0) this.oldest = data.position;
      if (this.newest === null || comparePositions(data.position, this.newest) > 0) this.newest = data.position;
    };
    socket.onAnyOutgoing(this.#listener);
  }

  stop(): void {
    this.#socket.offAnyOutgoing(this.#listener);
  }
}
