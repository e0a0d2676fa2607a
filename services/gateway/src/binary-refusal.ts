// The protocol has no binary. Socket.IO would still let any client announce up to 10 binary
// attachments per packet and hold each (up to maxHttpBufferSize) until the last one arrives;
// 200 sockets pinned about 115 MB that way. Here the engine's packets are looked at before
// Socket.IO decodes them: a binary frame, or a BINARY_EVENT / BINARY_ACK header ('5', '6'),
// ends that connection, after a `disconnect-reason`. Other clients never notice.
import type { Logger } from 'pino';
import type { Namespace } from 'socket.io';
import { ErrorCodes, ServerEvents } from '@vigil/protocol';

type EnginePacket = { type: string; data?: unknown };
type EngineConnection = {
  id: string;
  on(event: 'packet', fn: (packet: EnginePacket) => void): unknown;
  close(): void;
};

const BINARY_EVENT = 53; // '5'
const BINARY_ACK = 54; // '6'

export function isBinaryPacket(packet: EnginePacket): boolean {
  if (packet.type !== 'message') return false;
  const data = packet.data;
  if (typeof data !== 'string') return true;
  const type = data.charCodeAt(0);
  return type === BINARY_EVENT || type === BINARY_ACK;
}

/** `engine.on('connection', refuseBinary(nsp, logger, onRefuse))`. */
export function refuseBinary(nsp: Namespace, logger: Logger, onRefuse?: () => void) {
  return (conn: EngineConnection): void => {
    let refused = false;
    conn.on('packet', (packet) => {
      if (refused || !isBinaryPacket(packet)) return;
      refused = true;
      onRefuse?.();
      logger.warn({ code: ErrorCodes.INVALID_PAYLOAD, conn: conn.id }, 'binary attachment refused; connection closed');
      let found = false;
      for (const socket of nsp.sockets.values()) {
        if ((socket.conn as unknown as { id: string }).id !== conn.id) continue;
        found = true;
        socket.emit(ServerEvents.disconnectReason, { code: ErrorCodes.INVALID_PAYLOAD, message: 'binary attachments are not part of the vigil protocol' });
        // A graceful close: the reason goes out first; the engine ignores what else the client sends.
        socket.disconnect(true);
      }
      if (!found) conn.close();
    });
  };
}
