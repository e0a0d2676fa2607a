#!/usr/bin/env node
// vigil-gateway: reads the configuration from the environment, builds the app, listens, and shuts
// down cleanly on SIGTERM/SIGINT. A config error is one fatal log line with its code, exit 1.
// Everything else lives in buildApp(). `--help` lists the variables readEnvConfig reads (found by
// watching it read, so the list cannot drift from the schema); `--version` prints the version.
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { buildApp } from './app.js';
import { GATEWAY_VERSION } from './build-info.js';
import { readEnvConfig, type EnvConfig } from './env-config.js';
import { runTokenCommand } from './auth/token-command.js';
import { AUTH_ENV } from './auth/auth-config.js';

function baseLogger(level: string): Logger {
  return pino({ level, base: { service: 'vigil-gateway', pid: process.pid, hostname: hostname() } });
}

const CONFIG_ERRORS = new Set<string>([ErrorCodes.CONFIG_INVALID, ErrorCodes.AUTH_CONFIG_INVALID, ErrorCodes.REDIS_TLS_INVALID, ErrorCodes.REDIS_URL_INVALID, ErrorCodes.REDIS_CLUSTER_NODES_INVALID]);

/** Configuration errors an operator fixes: one fatal line with the code, no stack. */
function isConfigError(err: unknown): err is VigilError {
  return err instanceof VigilError && CONFIG_ERRORS.has(err.code);
}

/** Every environment variable readEnvConfig looks at, in the order it looks. */
function envVariablesRead(): string[] {
  const names = new Set<string>();
  const watched = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_, name) => {
      if (typeof name === 'string') names.add(name);
      // Auth off, so the defaults alone are a valid configuration and every later name is read.
      return name === AUTH_ENV.mode ? 'none' : undefined;
    },
  });
  try {
    readEnvConfig(watched);
  } catch {
    // The defaults alone are valid; if not, the names read so far are still the answer.
  }
  return [...names];
}

function usage(): string {
  return [
    'usage: vigil-gateway [--help | --version]',
    '       vigil-gateway token --sub <name> --servers <glob> [--logs] [--admin] [--ttl 1h]   (mint a token; token --help)',
    'Configured by environment variables only (docs/gateway.md has each one, its type and default):',
    ...[...new Set([...envVariablesRead(), ...Object.values(AUTH_ENV)])].filter((n) => n !== AUTH_ENV.privateKeyFile).map((name) => `  ${name}`),
    'The token command also reads (to sign with a private key instead of the secret):',
    `  ${AUTH_ENV.privateKeyFile}`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'token') {
    process.exitCode = await runTokenCommand(args.slice(1), process.env, { write: (s) => process.stdout.write(s), error: (s) => process.stderr.write(s) });
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  if (args.includes('--version') || args.includes('-v')) {
    process.stdout.write(`vigil-gateway ${GATEWAY_VERSION}\n`);
    return;
  }
  let config: EnvConfig;
  try {
    config = readEnvConfig(process.env);
  } catch (err) {
    if (!isConfigError(err)) throw err;
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
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({
      ...config.options,
      logger,
      metricsRegistries: [processMetrics],
      ...(config.dashboardDir ? { dashboardDir: config.dashboardDir } : {}),
      ...(config.redisTls ? { redisTls: config.redisTls } : {}),
    });
  } catch (err) {
    // A key file that cannot be read or parsed is found here, where files are read.
    if (!isConfigError(err)) throw err;
    logger.fatal({ code: err.code }, err.message);
    process.exitCode = 1;
    return;
  }
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
