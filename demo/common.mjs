// What every demo process shares: a pidfile written atomically when asked (env DEMO_PIDFILE),
// a log line with a timestamp, a clean exit on SIGTERM/SIGINT, and leaving when its parent is
// gone, so a demo never outlives the script that started it.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

/** One line on stdout; with a level ("warn", "error"), in a shape log collectors recognise. */
export function log(name, message, level) {
  const tag = level ? `${level.toUpperCase()} ` : '';
  process.stdout.write(`${new Date().toISOString()} ${tag}${name}[${process.pid}] ${message}\n`);
}

/** Writes `pid` to `path` by rename, so a reader never sees a half-written file. */
export function writePidfile(path, pid = process.pid) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`);
  renameSync(tmp, path);
}

export function removePidfile(path) {
  rmSync(path, { force: true });
}

/** A positive number from the environment, or the fallback. */
export function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

/**
 * Starts a demo: writes DEMO_PIDFILE if set, exits 0 on SIGTERM/SIGINT after `onStop`, and exits
 * when reparented (the parent died without stopping us).
 */
export function startDemo(name, { onStop = () => {} } = {}) {
  const pidfile = process.env.DEMO_PIDFILE;
  if (pidfile) writePidfile(pidfile);
  const stop = (signal) => {
    log(name, `stopping on ${signal}`);
    Promise.resolve()
      .then(onStop)
      .finally(() => {
        if (pidfile) removePidfile(pidfile);
        process.exit(0);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      log(name, `parent ${parent} is gone; exiting`);
      if (pidfile) removePidfile(pidfile);
      process.exit(0);
    }
  }, 2000).unref();
  log(name, `started (${basename(process.argv[1] ?? name)}${pidfile ? `, pidfile ${pidfile}` : ''})`);
}
