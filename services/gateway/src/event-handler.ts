// One wrapper for every client event: rate limit, validate the payload against its schema,
// run the handler, answer the ack. Nothing a client sends can throw inside the gateway.
import type { TSchema, Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { ErrorCodes, VigilError, errorAck, type Validator } from '@vigil/protocol';
import type { ClientSession } from './client-session.js';

export type HandlerResult = Record<string, unknown>;
type Ack = (response: unknown) => void;

export function handleEvent<T extends TSchema>(
  socket: Socket,
  session: ClientSession,
  logger: Logger,
  event: string,
  validator: Validator<T>,
  handler: (payload: Static<T>) => Promise<HandlerResult> | HandlerResult,
  onReject?: (code: string) => void,
): void {
  socket.on(event, (...args: unknown[]) => {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
    const reply = (response: unknown) => {
      const error = (response as { error?: { code?: string } }).error;
      if (error?.code && onReject) onReject(error.code);
      if (ack) ack(response);
    };
    if (!session.admit(Date.now())) {
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
