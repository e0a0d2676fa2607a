// Gateway entry point: reads configuration from the environment, builds the app, listens, and
// shuts down cleanly on SIGTERM/SIGINT. Everything else lives in buildApp().
import { hostname } from 'node:os';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { buildApp } from './app.js';
import { readEnvConfig } from './env-config.js';

async function main(): Promise<void> {
  const logger = pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'info', base: { service: 'vigil-gateway', pid: process.pid, hostname: hostname() } });
  let config;
  try {
    config = readEnvConfig(process.env);
  } catch (err) {
    const e = err as VigilError;
    logger.fatal({ code: e.code ?? ErrorCodes.CONFIG_INVALID }, e.message);
    process.exit(1);
  }
  // Defence in depth: a stray rejection in a dependency is logged, not fatal to every client.
  process.on('unhandledRejection', (reason) => {
    logger.error({ code: ErrorCodes.UNHANDLED_REJECTION, err: reason }, 'unhandled promise rejection');
  });
  // Node.js process metrics (event-loop lag, memory, GC) are process-wide: registered once here.
  const processMetrics = new Registry();
  collectDefaultMetrics({ register: processMetrics });
  const app = await buildApp({
    ...config.options,
    logger,
    metricsRegistries: [processMetrics],
    ...(process.env.VIGIL_DASHBOARD_DIR ? { dashboardDir: process.env.VIGIL_DASHBOARD_DIR } : {}),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // SIGTERM: drain first (readiness false, clients sent elsewhere in batches), then close.
    const drained = signal === 'SIGTERM' ? app.drain({ maxMs: config.drainMs }) : Promise.resolve();
    drained.then(() => app.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, gatewayId: app.gatewayId }, 'vigil gateway listening');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
