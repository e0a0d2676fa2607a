// What the client sends and receives on `/monitoring`: the requests it makes with their acks, and
// cheap shape checks for the events it routes. Names and payload types come from @vigil/protocol;
// the full schemas are enforced by the gateway, so the client only checks what it relies on
// (server id, position, level) and drops anything else rather than pass it to a handler.
import {
  ClientEvents,
  LOG_LEVELS,
  isPosition,
  type ByServer,
  type LogLevel,
  type ProcessInfoEvent,
  type ProcessLogsEvent,
  type StatusChangeEvent,
  type SubscribeServerLogs,
  type SubscribeServerMetrics,
} from '@vigil/protocol';
import { ClientErrorCodes, VigilClientError } from './errors.js';

export type AckWarning = { code: string; message: string };

export type MetricsAck = {
  room: string;
  serverId: string;
  interval: number;
  timestamp: string;
  /** Whether a latest sample existed (and was sent unless the client had a newer one). */
  latest: boolean;
  warning?: AckWarning;
};

export type LogsAck = {
  room: string;
  serverId: string;
  level: LogLevel;
  timestamp: string;
  replayed: number;
  /** Lines after `since` were trimmed from history before this client could read them. */
  gap: boolean;
  /** The replay was capped: subscribe again with since = next. */
  more: boolean;
  next?: string;
  /** Newest position in the server's log history when the replay was read, if the gateway says. */
  head?: string;
};

export type UnsubscribeAck = { room: string; timestamp: string; wasSubscribed: boolean };

/** Every request the client makes, with its payload and the fields of its ok ack. */
export type Requests = {
  [ClientEvents.subscribeServerMetrics]: { payload: SubscribeServerMetrics; reply: MetricsAck };
  [ClientEvents.subscribeServerLogs]: { payload: SubscribeServerLogs; reply: LogsAck };
  [ClientEvents.unsubscribeServerMetrics]: { payload: ByServer; reply: UnsubscribeAck };
  [ClientEvents.unsubscribeServerLogs]: { payload: ByServer; reply: UnsubscribeAck };
};
export type RequestName = keyof Requests;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const levels: readonly string[] = LOG_LEVELS;

/** Turns an ack into its ok fields, or throws the gateway's error with its code. */
export function readAck(event: string, reply: unknown): Obj {
  if (!isObject(reply)) throw new VigilClientError(ClientErrorCodes.BAD_REPLY, `${event}: the gateway's ack is not an object`);
  if (reply.ok === true) return reply;
  const error = isObject(reply.error) ? reply.error : {};
  const code = typeof error.code === 'string' ? error.code : ClientErrorCodes.BAD_REPLY;
  const message = typeof error.message === 'string' ? error.message : `${event} refused`;
  throw new VigilClientError(code, message);
}

/** The fields of a logs ack the client acts on, with safe defaults for an older gateway. */
export function readLogsAck(fields: Obj): Pick<LogsAck, 'gap' | 'more' | 'next' | 'head' | 'timestamp'> {
  return {
    gap: fields.gap === true,
    more: fields.more === true && isPosition(fields.next),
    ...(isPosition(fields.next) ? { next: fields.next } : {}),
    ...(isPosition(fields.head) ? { head: fields.head } : {}),
    timestamp: typeof fields.timestamp === 'string' ? fields.timestamp : '',
  };
}

export function isProcessInfoEvent(v: unknown): v is ProcessInfoEvent {
  return isObject(v) && typeof v.serverId === 'string' && isPosition(v.position) && isObject(v.processInfo);
}

export function isProcessLogsEvent(v: unknown): v is ProcessLogsEvent {
  return (
    isObject(v) &&
    typeof v.serverId === 'string' &&
    isPosition(v.position) &&
    isObject(v.logData) &&
    levels.includes(v.logData.level as string)
  );
}

export function isStatusChangeEvent(v: unknown): v is StatusChangeEvent {
  return (
    isObject(v) &&
    typeof v.serverId === 'string' &&
    typeof v.status === 'string' &&
    (v.position === undefined || v.position === null || isPosition(v.position))
  );
}
