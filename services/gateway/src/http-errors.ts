// Every HTTP answer that is an error is `{ error: { code, message } }` (ErrorBody of
// @vigil/protocol) with a code that says what happened: the gateway's own errors, and those of
// Fastify (unknown route, validation, body, bad URL) and of Node's HTTP parser (431, 408, 400),
// which would otherwise answer in their own shapes. Used by every Fastify the gateway creates.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, RouteOptions, RouteShorthandOptions } from 'fastify';
import { Type, type TRef, type TSchema } from '@sinclair/typebox';
import { ErrorBody, ErrorCodes, VigilError, type ErrorCode } from '@vigil/protocol';

/** The status of each code a client can be answered with; any other VigilError is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.SERVER_NOT_FOUND]: 404,
  [ErrorCodes.HOST_NOT_FOUND]: 404,
  [ErrorCodes.INVALID_PARAMS]: 400,
  [ErrorCodes.INVALID_QUERY]: 400,
  [ErrorCodes.INVALID_PAYLOAD]: 400,
  [ErrorCodes.MALFORMED_BODY]: 400,
  [ErrorCodes.BAD_URL]: 400,
  [ErrorCodes.BAD_REQUEST]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.TOKEN_EXPIRED]: 401,
  [ErrorCodes.ORIGIN_REFUSED]: 403,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.REQUEST_TIMEOUT]: 408,
  [ErrorCodes.BODY_TOO_LARGE]: 413,
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.TOO_MANY_CONNECTIONS]: 429,
  [ErrorCodes.HEADERS_TOO_LARGE]: 431,
  [ErrorCodes.REDIS_UNAVAILABLE]: 503,
  [ErrorCodes.SHUTTING_DOWN]: 503,
};

/** Fastify's own errors, by their `code`. */
const FASTIFY: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCodes.BODY_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCodes.MALFORMED_BODY,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCodes.MALFORMED_BODY,
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCodes.MALFORMED_BODY,
  FST_ERR_BAD_URL: ErrorCodes.BAD_URL,
  // A path segment longer than any valid id (routerOptions.maxParamLength): a bad parameter.
  FST_ERR_MAX_PARAM_LENGTH: ErrorCodes.INVALID_PARAMS,
};

/** Schema validation failures, by the part of the request that failed. */
const VALIDATION: Record<string, ErrorCode> = {
  params: ErrorCodes.INVALID_PARAMS,
  querystring: ErrorCodes.INVALID_QUERY,
  body: ErrorCodes.INVALID_PAYLOAD,
  headers: ErrorCodes.BAD_REQUEST,
};

/** Node's HTTP parser errors (clientError), by their `code`; any other is BAD_REQUEST. */
const CLIENT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: { code: ErrorCodes.HEADERS_TOO_LARGE, message: 'the request line and headers are larger than this server accepts' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: ErrorCodes.REQUEST_TIMEOUT, message: 'the request was not received in time' },
  HPE_INVALID_URL: { code: ErrorCodes.BAD_URL, message: 'the request URL is malformed' },
};

/** ErrorBody as a shared schema of each app (installErrorHandlers adds it): one definition in /api/openapi.json. */
export const ERROR_SCHEMA_ID = 'VigilError';

/** Response schemas of a route's own error statuses, each with what it means (in /api/openapi.json). */
export function errorResponses<S extends number>(meanings: Record<S, string>): Record<S, TRef> {
  const out = {} as Record<S, TRef>;
  for (const [status, description] of Object.entries(meanings) as Array<[string, string]>) {
    out[Number(status) as S] = Type.Ref(`${ERROR_SCHEMA_ID}#`, { description });
  }
  return out;
}

/**
 * Adds `responses` to the response schemas of every route registered after this in `app`'s scope
 * (those `when` accepts), beside the route's own: for the errors that hooks, not handlers, answer.
 */
export function addRouteResponses(app: FastifyInstance, responses: Record<number, TSchema>, when: (route: RouteOptions) => boolean = () => true): void {
  app.addHook('onRoute', (route) => {
    if (!when(route)) return;
    const own = (route.schema?.response ?? {}) as Record<string, unknown>;
    const added = Object.entries(responses).filter(([status]) => !(status in own));
    route.schema = { ...route.schema, response: { ...own, ...Object.fromEntries(added) } };
  });
}

function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The HTTP status of an error code (500 for a code with none of its own). */
export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

function send(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(statusOf(code)).send(errorBody(code, message));
}

/**
 * Options for every `Fastify()` of the gateway: the framework's routing errors (bad URL) and
 * Node's parser errors (431 and the like, which never reach a route) answer in vigil's shape.
 */
export const errorServerOptions = {
  frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    const code = FASTIFY[err.code];
    if (code === undefined) return unexpected(err, req, reply);
    return send(reply, code, code === ErrorCodes.BAD_URL ? 'the request URL is not validly percent-encoded' : err.message);
  },
  clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
    // A reset connection has no one to answer (Node's own rule, and Fastify's).
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const known = err.code === undefined ? undefined : CLIENT_ERRORS[err.code];
    const { code, message } = known ?? { code: ErrorCodes.BAD_REQUEST, message: 'the request is not valid HTTP' };
    // Debug only: anyone can send garbage, and a log line each would let them fill the disk.
    this.log.debug({ code, err: err.code }, 'client error');
    const status = statusOf(code);
    const body = JSON.stringify(errorBody(code, message));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    // Closed once written, whatever the client does next.
    socket.destroySoon();
  },
} satisfies Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'>;

/**
 * The error handler, and 503 SHUTTING_DOWN once the app closes (instead of Fastify's
 * return503OnClosing, whose body is its own: pass `return503OnClosing: false`).
 */
export function installErrorHandlers(app: FastifyInstance, onRedisFailure?: (op: string) => void): void {
  app.addSchema({ ...ErrorBody, $id: ERROR_SCHEMA_ID, title: ERROR_SCHEMA_ID, description: 'an error, with a stable code (docs/errors.md)' });
  addRouteResponses(app, errorResponses({ 500: 'a bug; details are logged, not sent', 503: 'Redis is unavailable, or the gateway is shutting down' }));
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new VigilError(ErrorCodes.SHUTTING_DOWN, 'the gateway is shutting down; retry on another');
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof VigilError && err.expose) return send(reply, err.code, err.message);
    if (err.validation) return send(reply, VALIDATION[err.validationContext ?? ''] ?? ErrorCodes.BAD_REQUEST, err.message);
    const code = FASTIFY[err.code];
    if (code !== undefined) return send(reply, code, err.message);
    if (isRedisFailure(err)) {
      onRedisFailure?.('request');
      req.log.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: err.message }, 'redis unavailable');
      return send(reply, ErrorCodes.REDIS_UNAVAILABLE, 'redis is unavailable; try again shortly');
    }
    // Any other 4xx a plugin raises (@fastify/static's range errors, say): its status, a generic code.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody(ErrorCodes.BAD_REQUEST, err.message));
    }
    return unexpected(err, req, reply);
  });
}

/**
 * 404 NOT_FOUND for a path no route serves. `preHandler`: what every route gets at the edge
 * (the rate limit), so probing for routes costs the same as using them.
 */
export function installNotFoundHandler(app: FastifyInstance, options: Pick<RouteShorthandOptions, 'preHandler'> = {}): void {
  app.setNotFoundHandler(options, (req, reply) => send(reply, ErrorCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`));
}

function unexpected(err: Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  req.log.error({ code: ErrorCodes.INTERNAL, err }, 'request failed');
  return send(reply, ErrorCodes.INTERNAL, 'internal error');
}

function isRedisFailure(err: Error): boolean {
  const m = err.message ?? '';
  return /max retries per request|Connection is closed|Command timed out|Stream isn't writeable|ECONNREFUSED|ECONNRESET/i.test(m);
}
