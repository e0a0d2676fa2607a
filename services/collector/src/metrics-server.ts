// The collector's HTTP endpoint (only when a metrics port is configured): GET /metrics
// (Prometheus text), /healthz (the tick loop is alive) and /readyz (Redis is reachable). Plain
// node:http: three fixed routes do not need a framework. Opened by start(), closed by stop().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, VigilError, type ErrorBody, type ErrorCode } from '@vigil/protocol';
import type { CollectorMetrics } from './metrics.js';

export type Health = {
  /** Monotonic ms (performance.now()) of the last tick's end, or of the start before any tick. */
  lastTickAt: () => number;
  /** /healthz fails once the last tick is older than this. */
  staleAfterMs: number;
  redisConnected: () => boolean;
};

export type MetricsServerOptions = { host: string; port: number; metrics: CollectorMetrics; health: Health };

export interface MetricsServer {
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(req, res, o).catch(() => reply(res, 500, errorBody(ErrorCodes.INTERNAL, 'internal error')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new VigilError(ErrorCodes.CONFIG_INVALID, `metricsPort: cannot listen on ${o.host}:${o.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: { host: o.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper keeps its connection open between scrapes; close() must not wait for it.
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  // As the gateway: a method a path does not serve is no route (docs/errors.md).
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 404, errorBody(ErrorCodes.NOT_FOUND, `no route ${req.method} ${path.slice(0, 200)}: only GET`));
  if (path === '/metrics') {
    const { contentType, body } = await o.metrics.render();
    res.writeHead(200, { 'content-type': contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/healthz') {
    const sinceTickMs = Math.round(performance.now() - o.health.lastTickAt());
    const ok = sinceTickMs <= o.health.staleAfterMs;
    return reply(res, ok ? 200 : 503, { status: ok ? 'ok' : 'stalled', sinceTickMs, redis: o.health.redisConnected() ? 'up' : 'down' });
  }
  if (path === '/readyz') {
    const ok = o.health.redisConnected();
    return reply(res, ok ? 200 : 503, { status: ok ? 'ok' : 'redis unreachable', redis: ok ? 'up' : 'down' });
  }
  reply(res, 404, errorBody(ErrorCodes.NOT_FOUND, `no route ${req.method} ${path.slice(0, 200)}: /metrics, /healthz, /readyz`));
}

/** vigil's HTTP error shape (ErrorBody of @vigil/protocol), as the gateway answers. */
function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

function reply(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
