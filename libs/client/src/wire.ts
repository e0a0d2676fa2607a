// What the client sends and receives on `/monitoring`: the requests it makes with their acks, and
// cheap shape checks for the events it routes. Names, payload types and ack schemas come from
// @vigil/protocol. Every ack is checked against its schema (acks are few; a drifted one must fail
// loudly), while live events only get the checks the client relies on (server id, position,
// level): the gateway validated them on the way in, and they come by the thousand.
import {
  Acks,
  ClientEvents,
  LOG_LEVELS,
  compile,
  isPosition,
  type AckEvent,
  type ByServer,
  type ProcessInfoEvent,
  type ProcessLogsEvent,
  type RefreshToken,
  type ReplyOf,
  type StatusChangeEvent,
  type SubscribeServerLogs,
  type SubscribeServerMetrics,
  type Validator,
} from '@vigil/protocol';
import { ClientErrorCodes, VigilClientError } from './errors.js';

/** The payload of every request the client makes; the reply is the protocol's ack of that event. */
export type Payloads = {
  [ClientEvents.subscribeServerMetrics]: SubscribeServerMetrics;
  [ClientEvents.subscribeServerLogs]: SubscribeServerLogs;
  [ClientEvents.unsubscribeServerMetrics]: ByServer;
  [ClientEvents.unsubscribeServerLogs]: ByServer;
  [ClientEvents.refreshToken]: RefreshToken;
};
export type RequestName = keyof Payloads & AckEvent;
export type Reply<E extends RequestName> = ReplyOf<E>;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const levels: readonly string[] = LOG_LEVELS;

/** Compiled on first use, once per event. */
const validators = new Map<RequestName, Validator<(typeof Acks)[RequestName]>>();

function validatorOf(event: RequestName): Validator<(typeof Acks)[RequestName]> {
  let validator = validators.get(event);
  if (!validator) validators.set(event, (validator = compile(Acks[event])));
  return validator;
}

/**
 * Turns an ack into its ok fields, or throws the gateway's error with its code. An ack that is not
 * what the protocol says (a field missing, of another type, or one it does not know) is BAD_REPLY.
 */
export function readAck<E extends RequestName>(event: E, reply: unknown): Reply<E> {
  const problem = validatorOf(event).explain(reply);
  if (problem !== null) throw new VigilClientError(ClientErrorCodes.BAD_REPLY, `${event}: the gateway's ack does not match the protocol (${problem})`);
  const ack = reply as { ok: true } | { ok: false; error: { code: string; message: string } };
  if (!ack.ok) throw new VigilClientError(ack.error.code, ack.error.message);
  return ack as unknown as Reply<E>;
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
