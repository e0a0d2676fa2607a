// One wrapper for every client event: rate limit, validate the payload against its schema,
// run the handler, answer the ack. Nothing a client sends can throw inside the gateway. The
// handler of event E returns E's reply (libs/protocol acks.ts), so the compiler holds each ack
// to the contract clients check it against.
import type { TSchema, Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { ErrorCodes, VigilError, errorAck, type AckError, type AckEvent, type ReplyOf, type Validator } from '@vigil/protocol';
import type { ClientActivity } from './client-activity.js';
import type { Client } from './client.js';

export type Handler<E extends AckEvent, T extends TSchema> = (payload: Static<T>) => Promise<ReplyOf<E>> | ReplyOf<E>;
/** What the client's ack callback receives: the form the protocol's `Acks[E]` schema describes. */
type AckResponse<E extends AckEvent> = ({ ok: true } & ReplyOf<E>) | AckError;
type Ack<E extends AckEvent> = (response: AckResponse<E>) => void;

export function handleEvent<E extends AckEvent, T extends TSchema>(
  client: Client,
  activity: ClientActivity,
  logger: Logger,
  event: E,
  validator: Validator<T>,
  handler: Handler<E, T>,
  onReject?: (code: string) => void,
): void {
  client.on(event, (args, clientAck) => {
    const ack = clientAck as Ack<E> | undefined;
    const reply = (response: AckResponse<E>) => {
      if (!response.ok && onReject) onReject(response.error.code);
      if (ack) ack(response);
    };
    if (!activity.admit(Date.now())) {
      reply(errorAck(ErrorCodes.RATE_LIMITED, `too many events; slow down`));
      return;
    }
    if (args.length > 1) {
      reply(errorAck(ErrorCodes.INVALID_PAYLOAD, `${event} takes one payload, got ${args.length}`));
      return;
    }
    const payload = args[0];
    const problem = validator.explain(payload);
    if (problem !== null) {
      reply(errorAck(ErrorCodes.INVALID_PAYLOAD, `${event}: ${problem}`));
      return;
    }
    Promise.resolve()
      .then(() => handler(payload as Static<T>))
      .then(
        (result) => reply({ ok: true, ...result }),
        (err: unknown) => {
          if (err instanceof VigilError && err.expose) {
            reply(errorAck(err.code, err.message));
            return;
          }
          logger.error({ code: ErrorCodes.INTERNAL, event, err }, 'event handler failed');
          reply(errorAck(ErrorCodes.INTERNAL, 'internal error'));
        },
      )
      .catch(() => undefined); // an ack to a client that is gone cannot fail us
  });
}
