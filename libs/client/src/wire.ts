// What the client sends and receives on `/monitoring`: the requests it makes with their acks, and
// cheap shape checks for the events it routes. Names, payload types and ack schemas come from
// @vigil/protocol. Every ack is checked against its schema (acks are few; a drifted one must fail
// loudly), while live events only get the checks the client relies on (server id, position,
// level): the gateway validated them on the way in, and they come by the thousand.
import {
  Acks,
  ClientEvents,
  LOG_LEVELS,
  SERVER_REMOVAL_REASONS,
  compile,
  isPosition,
  type AckEvent,
  type ByHost,
  type ByServer,
  type FleetFilter,
  type FleetUpdate,
  type ProcessInfoEvent,
  type ProcessLogsEvent,
  type RefreshToken,
  type ReplyOf,
  type ServerRemoved,
  type StatusChangeEvent,
  type AlertEvent,
  type SubscribeAlerts,
  type UnsubscribeAlerts,
  ALERT_SEVERITIES,
  type SubscribeServerLogs,
  type SubscribeServerMetrics,
  type SubscribeSystemMetrics,
  SystemMetricsEvent,
  type Validator,
} from '@vigil/protocol';
import type { Socket } from 'socket.io-client';
import { ClientErrorCodes, VigilClientError } from './errors.js';

/** The payload of every request the client makes; the reply is the protocol's ack of that event. */
export type Payloads = {
  [ClientEvents.subscribeServerMetrics]: SubscribeServerMetrics;
  [ClientEvents.subscribeServerLogs]: SubscribeServerLogs;
  [ClientEvents.unsubscribeServerMetrics]: ByServer;
  [ClientEvents.unsubscribeServerLogs]: ByServer;
  [ClientEvents.refreshToken]: RefreshToken;
  [ClientEvents.subscribeAlerts]: SubscribeAlerts;
  [ClientEvents.unsubscribeAlerts]: UnsubscribeAlerts;
  [ClientEvents.subscribeSystemMetrics]: SubscribeSystemMetrics;
  [ClientEvents.unsubscribeSystemMetrics]: ByHost;
  [ClientEvents.subscribeFleet]: { filter?: FleetFilter };
  [ClientEvents.unsubscribeFleet]: Record<string, never>;
};
export type RequestName = keyof Payloads & AckEvent;
export type Reply<E extends RequestName> = ReplyOf<E>;

/** The requests in flight on one socket. */
export class Requests {
  readonly #socket: Socket;
  readonly #ackTimeoutMs: number;
  readonly #pending = new Set<(err: VigilClientError) => void>();

  constructor(socket: Socket, ackTimeoutMs: number) {
    this.#socket = socket;
    this.#ackTimeoutMs = ackTimeoutMs;
  }

  /**
   * Sends a request and waits for its ack. The wait ends after `ackTimeoutMs` without an answer or
   * without progress (a log replay of 10,000 lines may take longer than that on a slow link, but
   * lines keep arriving), and at once when the connection drops.
   */
  send<E extends RequestName>(event: E, payload: Payloads[E], progress?: () => number): Promise<Reply<E>> {
    return new Promise((resolve, reject) => {
      if (!this.#socket.connected) {
        reject(new VigilClientError(ClientErrorCodes.DISCONNECTED, `${event}: not connected`));
        return;
      }
      const timeoutMs = this.#ackTimeoutMs;
      const sentAt = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#pending.delete(fail);
        outcome();
      };
      const fail = (err: VigilClientError) => settle(() => reject(err));
      const check = () => {
        const idle = Date.now() - Math.max(sentAt, progress?.() ?? 0);
        if (idle >= timeoutMs) fail(new VigilClientError(ClientErrorCodes.TIMEOUT, `${event}: no answer in ${timeoutMs} ms`));
        else timer = setTimeout(check, timeoutMs - idle);
      };
      this.#pending.add(fail);
      timer = setTimeout(check, timeoutMs);
      this.#socket.emit(event, payload, (reply: unknown) =>
        settle(() => {
          try {
            resolve(readAck(event, reply));
          } catch (err) {
            reject(err);
          }
        }),
      );
    });
  }

  /** Requests in flight fail at once when the connection drops (their acks cannot come). */
  failAll(err: VigilClientError): void {
    for (const fail of [...this.#pending]) fail(err);
  }
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const levels: readonly string[] = LOG_LEVELS;

/** Compiled on first use, once per event. */
const validators = new Map<RequestName, Validator<(typeof Acks)[RequestName]>>();

function validatorOf(event: RequestName): Validator<(typeof Acks)[RequestName]> {
  let validator = validators.get(event);
  if (!validator) validators.set(event, (validator = compile(Acks[event], { codegen: false })));
  return validator;
}

/**
 * Turns an ack into its ok fields, or throws the gateway's error with its code. An ack that is not
 * what the protocol says (a field missing, of another type, or one it does not know) is BAD_REPLY.
 */
function readAck<E extends RequestName>(event: E, reply: unknown): Reply<E> {
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

const severities: readonly string[] = ALERT_SEVERITIES;

export function isAlertEvent(v: unknown): v is AlertEvent {
  return (
    isObject(v) &&
    typeof v.id === 'string' &&
    typeof v.serverId === 'string' &&
    isPosition(v.position) &&
    (v.state === 'firing' || v.state === 'resolved') &&
    severities.includes(v.severity as string)
  );
}

export function isServerRemoved(v: unknown): v is ServerRemoved {
  return isObject(v) && typeof v.serverId === 'string' && typeof v.timestamp === 'string' && (SERVER_REMOVAL_REASONS as readonly unknown[]).includes(v.reason);
}

/** A host sample is read deep (charts index into cpu, memory, network): checked against its schema whole. */
let systemMetricsCheck: ReturnType<typeof compile<typeof SystemMetricsEvent>> | undefined;
export function isSystemMetricsEvent(v: unknown): v is SystemMetricsEvent {
  systemMetricsCheck ??= compile(SystemMetricsEvent, { codegen: false });
  return systemMetricsCheck.check(v);
}

/** A fleet update is checked for its frame (rows are applied as they are: the gateway built them). */
export function isFleetUpdate(v: unknown): v is FleetUpdate {
  return (
    isObject(v) &&
    typeof v.snapshot === 'boolean' &&
    typeof v.complete === 'boolean' &&
    typeof v.total === 'number' &&
    Array.isArray(v.rows) &&
    Array.isArray(v.removed) &&
    v.rows.every((row) => isObject(row) && typeof row.id === 'string') &&
    v.removed.every((id) => typeof id === 'string')
  );
}
