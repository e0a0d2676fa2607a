#!/usr/bin/env node
// vigil-collector: reads the config, builds the logger, starts the collector and stops it cleanly
// on SIGTERM/SIGINT (exit 0). A config error is one fatal log line with its code, exit 1. Log
// lines carry pid and host; JSON, or readable lines when stdout is a terminal (log-format.ts).
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { createCollector, type Collector } from './collector.js';
import type { CollectorConfig } from './config-schema.js';
import { loadConfig } from './config.js';
import { USAGE, parseFlags } from './flags.js';
import { prettyDestination } from './log-format.js';
import { COLLECTOR_VERSION } from './metrics.js';
import { DEFAULT_STOP_GRACE_MS } from './supervisor.js';

/** If stopping takes longer than this (plus the longest grace of a supervised command), something is stuck: leave anyway. */
const STOP_DEADLINE_MS = 10_000;

function baseLogger(level: string, host = hostname()): Logger {
  const options = { level, base: { service: 'vigil-collector', pid: process.pid, host } };
  return process.stdout.isTTY ? pino(options, prettyDestination(process.stdout)) : pino(options);
}

function isConfigError(err: unknown): err is VigilError {
  const codes: string[] = [ErrorCodes.CONFIG_INVALID, ErrorCodes.CONFIG_UNREADABLE, ErrorCodes.REDIS_TLS_INVALID, ErrorCodes.REDIS_CLUSTER_NODES_INVALID];
  return err instanceof VigilError && codes.includes(err.code);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let config: CollectorConfig;
  let collector: Collector;
  let logger: Logger;
  try {
    const flags = parseFlags(argv);
    if (flags.help || flags.version) {
      process.stdout.write(flags.help ? `${USAGE}\n` : `vigil-collector ${COLLECTOR_VERSION}\n`);
      return;
    }
    config = loadConfig({ argv, env: process.env });
    logger = baseLogger(config.logLevel, config.host).child({ collectorId: config.collectorId });
    collector = createCollector({ ...config, logger });
  } catch (err) {
    if (!isConfigError(err)) throw err;
    // The message names the field; a stack would only bury it.
    baseLogger('info').fatal({ code: err.code }, err.message);
    process.exitCode = 1;
    return;
  }

  process.on('unhandledRejection', (reason) => {
    // The collector keeps running: a stray rejection must not take host monitoring down.
    logger.error({ code: ErrorCodes.UNHANDLED_REJECTION, err: String((reason as Error)?.stack ?? reason) }, 'unhandled rejection');
  });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const grace = Math.max(0, ...config.targets.map((t) => ('command' in t ? (t.stopGraceMs ?? DEFAULT_STOP_GRACE_MS) : 0)));
    const deadline = STOP_DEADLINE_MS + grace;
    setTimeout(() => {
      logger.error({ code: ErrorCodes.STOP_TIMEOUT }, `stop took longer than ${deadline} ms; exiting`);
      process.exit(1);
    }, deadline).unref();
    collector.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ code: ErrorCodes.INTERNAL, err: err.message }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  try {
    await collector.start();
  } catch (err) {
    // A metrics port already taken, TLS files with a redis:// URL: the operator's to fix, said in one line.
    if (!isConfigError(err)) throw err;
    logger.fatal({ code: err.code }, err.message);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  baseLogger('info').fatal({ code: ErrorCodes.INTERNAL, err: (err as Error)?.stack ?? String(err) }, 'collector crashed');
  process.exit(1);
});
