// A restart loop, like a tiny process supervisor:
//   node restart-loop.mjs [--pidfile <path>] [--delay <ms>] -- <command> [args...]
// Starts the command, writes its pid to the pidfile (atomically) each time it starts, and
// starts it again after it exits, backing off while it keeps dying young. On SIGTERM/SIGINT it
// stops the command, removes the pidfile and exits 0. Its own stdout gets one line per event.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { log, removePidfile, writePidfile } from './common.mjs';

const NAME = 'restart-loop';
const split = process.argv.indexOf('--');
if (split < 0 || split === process.argv.length - 1) {
  process.stderr.write('usage: node restart-loop.mjs [--pidfile <path>] [--delay <ms>] -- <command> [args...]\n');
  process.exit(2);
}
const { values } = parseArgs({
  args: process.argv.slice(2, split),
  options: { pidfile: { type: 'string' }, delay: { type: 'string', default: '1000' } },
});
const [command, ...args] = process.argv.slice(split + 1);
const baseDelayMs = Number(values.delay);
const MAX_DELAY_MS = 30_000;
/** A child that lived at least this long was healthy: the back-off starts over. */
const HEALTHY_MS = 10_000;

let child = null;
let stopping = false;
let restarts = 0;
let delayMs = baseDelayMs;
let timer = null;

function start() {
  timer = null;
  const startedAt = Date.now();
  const proc = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  child = proc;
  let ended = false;
  const onEnd = (how) => {
    if (ended) return;
    ended = true;
    child = null;
    if (stopping) return;
    const lived = Date.now() - startedAt;
    delayMs = lived >= HEALTHY_MS ? baseDelayMs : Math.min(MAX_DELAY_MS, Math.max(baseDelayMs, delayMs * 2));
    restarts++;
    log(NAME, `pid ${proc.pid ?? '-'} ${how} after ${Math.round(lived / 1000)} s; restarting in ${delayMs} ms`, 'warn');
    timer = setTimeout(start, delayMs);
  };
  // A command that cannot be started gets 'error' and maybe no 'exit': both end this run.
  proc.on('error', (err) => onEnd(`could not be started (${err.message})`));
  proc.on('exit', (code, signal) => onEnd(`exited (${signal ?? `code ${code}`})`));
  if (proc.pid !== undefined) {
    if (values.pidfile) writePidfile(values.pidfile, proc.pid);
    log(NAME, `started ${[command, ...args].join(' ')} as pid ${proc.pid}${restarts > 0 ? ` (restart ${restarts})` : ''}`);
  }
}

function stop(signal) {
  if (stopping) return;
  stopping = true;
  if (timer) clearTimeout(timer);
  const finish = () => {
    if (values.pidfile) removePidfile(values.pidfile);
    log(NAME, `stopped on ${signal} after ${restarts} restarts`);
    process.exit(0);
  };
  if (!child) return finish();
  const proc = child;
  const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
  proc.once('exit', () => {
    clearTimeout(kill);
    finish();
  });
  proc.kill('SIGTERM');
}

process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
// Never outlive the script that started us (it would leave the command running unwatched).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop(`parent ${parent} gone`);
}, 2000).unref();
start();
