// The plain WebSocket endpoint `/ws`: JSON text frames carrying the same events, payloads, acks
// and rooms as the Socket.IO namespace. Client → gateway `{ id, event, data? }`; the gateway
// answers each with `{ id, ack }` (the ack the Socket.IO event would get) and pushes
// `{ event, data }`. Close codes say why the gateway ended a connection.
import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodes, type ErrorCode } from './errors.js';

export const WS_PATH = '/ws';

/** How often the gateway pings a /ws peer; one that has not answered the previous ping is closed. */
export const WS_HEARTBEAT_MS = 25_000;

/** A request frame: `data` is the event's payload (absent for events without one). */
export const WsRequest = Type.Object(
  {
    id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    event: Type.String({ minLength: 1, maxLength: 64 }),
    data: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type WsRequest = Static<typeof WsRequest>;

/** The answer to a request frame; `id` is null when the frame had no usable id (not JSON, binary, bad id). */
export type WsAckFrame = { id: number | null; ack: { ok: true } | { ok: false; error: { code: string; message: string } } };
/** A gateway → client event. */
export type WsEventFrame = { event: string; data: unknown };

/** Close codes of `/ws` (1000–1011 as RFC 6455 defines them, 4000+ vigil's own). */
export const WsCloseCodes = {
  /** The client said goodbye. */
  normal: 1000,
  /** The gateway drains or stops: reconnect (through the balancer, to another gateway). */
  goingAway: 1001,
  /** A binary frame: the protocol is JSON text only. */
  unsupportedData: 1003,
  /** A frame larger than the gateway's maximum payload. */
  messageTooBig: 1009,
  /** Any other reason of the gateway's own (see the `disconnect-reason` event sent before). */
  policyViolation: 1008,
  /** The token expired: refresh it in time (`refresh-token`), or reconnect with a new one. */
  tokenExpired: 4001,
  /** The client did not read what it was sent (VIGIL_MAX_BUFFERED_BYTES). */
  slowConsumer: 4002,
} as const;

/** The close code for a connection the gateway ends with `disconnect-reason` `code`. */
export function wsCloseCodeOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCodes.TOKEN_EXPIRED:
      return WsCloseCodes.tokenExpired;
    case ErrorCodes.SLOW_CONSUMER:
      return WsCloseCodes.slowConsumer;
    case ErrorCodes.INVALID_FRAME:
      return WsCloseCodes.unsupportedData;
    case ErrorCodes.SHUTTING_DOWN:
      return WsCloseCodes.goingAway;
    default:
      return WsCloseCodes.policyViolation;
  }
}
