#!/usr/bin/env node
// vigil-gateway: reads the configuration from the environment, builds the app, listens, and shuts
// down cleanly on SIGTERM/SIGINT. A config error is one fatal log line with its code, exit 1.
// Everything else lives in buildApp().
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { buildApp } from './app.js';
import { readEnvConfig, type EnvConfig } from './env-config.js';

function baseLogger(level: string): Logger {
  return pino({ level, base: { service: 'vigil-gateway', pid: process.pid, hostname: hostname() } });
}

async function main(): Promise<void> {
  let config: EnvConfig;
  try {
    config = readEnvConfig(process.env);
  } catch (err) {
    if (!(err instanceof VigilError) || err.code !== ErrorCodes.CONFIG_INVALID) throw err;
    // The message names the variable; a stack would only bury it.
    baseLogger('info').fatal({ code: err.code }, err.message);
    process.exitCode = 1;
    return;
  }
  const logger = baseLogger(config.logLevel);
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
    ...(config.dashboardDir ? { dashboardDir: config.dashboardDir } : {}),
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
  baseLogger('info').fatal({ code: ErrorCodes.INTERNAL, err }, 'gateway crashed');
  process.exit(1);
});
