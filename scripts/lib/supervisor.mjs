// The one spawn helper of a local run. A process spec says what to start and how to tell it is
// ready; the supervisor starts specs in order (each in its own process group, output to
// <runDir>/<name>.log), notices any that dies unasked, and stops them in reverse order, by pid,
// waiting for each.
//
// Spec: { name, what, command, args, env?, cwd?, prepare?(ctx), ready?(ctx), readyTimeoutMs?,
//         stopTimeoutMs?, missingHint?, role? }   (args is read after prepare; role: 'gateway',
//         'balancer', 'collector'… for the caller's own policies)
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aborted, sleep, waitFor } from './wait.mjs';

const DEFAULT_READY_MS = 30_000;
const READY_POLL_MS = 200; // a ready probe is a PING or an HTTP GET: a few a second is enough
const DEFAULT_STOP_MS = 10_000;

/** Thrown when a process exits while we wait on it. */
export class ProcessDied extends Error {
  constructor(proc) {
    super(describeExit(proc));
    this.name = 'ProcessDied';
    this.proc = proc;
  }
}

export function describeExit(proc) {
  const { code, signal } = proc.exit ?? {};
  const how = proc.spawnError
    ? `could not be started: ${proc.spawnError.message}`
    : signal
      ? `was killed by ${signal}`
      : `exited with code ${code}`;
  return `${proc.spec.name} (pid ${proc.pid ?? '-'}) ${how}`;
}

/** The last `n` lines of a log file (reads at most its last 64 KiB). */
export function tail(path, n = 20) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.slice(-65_536).split('\n').filter((l) => l.trim() !== '').slice(-n);
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pid) {
  return signalGroup(pid, 0);
}

/** Start time of a pid in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function startTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

export class Supervisor {
  /** Started processes, in start order. */
  procs = [];
  #runDir;
  #stateFile;
  #stopping = false;
  #onUnexpectedExit = () => {};

  #meta;

  /** `meta` goes into state.json as is (e.g. the temp dir a later run should remove). */
  constructor({ runDir, meta = {} }) {
    this.#runDir = runDir;
    this.#meta = meta;
    this.#stateFile = join(runDir, 'state.json');
    this.#saveState();
  }

  /** Called once per process that exits while nobody asked it to. */
  onUnexpectedExit(fn) {
    this.#onUnexpectedExit = fn;
  }

  get(name) {
    return this.procs.find((p) => p.spec.name === name);
  }

  /** Starts `spec` and waits until it is ready; rejects with ProcessDied if it exits first. */
  async start(spec, ctx, signal) {
    if (signal?.aborted) throw new Aborted(signal.reason);
    await spec.prepare?.(ctx);
    const logPath = join(this.#runDir, `${spec.name}.log`);
    const fd = openSync(logPath, 'a');
    let child;
    try {
      // Own process group: a terminal's Ctrl-C reaches only us, and we stop children in order.
      child = spawn(spec.command, spec.args ?? [], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const proc = { spec, pid: child.pid, child, logPath, exit: null, spawnError: null, stopRequested: false };
    proc.startTicks = child.pid === undefined ? null : startTicks(child.pid);
    proc.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        proc.spawnError = err;
        if (spec.missingHint && err.code === 'ENOENT') err.message = `${spec.command} not found: ${spec.missingHint}`;
        if (proc.pid === undefined) resolve();
      });
      child.once('exit', (code, sig) => {
        proc.exit = { code, signal: sig };
        resolve();
      });
    });
    this.procs.push(proc);
    this.#saveState();
    proc.exited.then(() => {
      if (!this.#stopping && !proc.stopRequested) this.#onUnexpectedExit(proc);
    });
    if (proc.pid === undefined) {
      await proc.exited;
      throw new ProcessDied(proc);
    }
    if (spec.ready) {
      const died = proc.exited.then(() => {
        throw new ProcessDied(proc);
      });
      died.catch(() => undefined);
      try {
        await Promise.race([
          waitFor(() => spec.ready(ctx, proc), {
            timeoutMs: spec.readyTimeoutMs ?? DEFAULT_READY_MS,
            intervalMs: READY_POLL_MS,
            signal,
            message: `${spec.name} to be ready`,
          }),
          died,
        ]);
      } catch (err) {
        err.proc ??= proc; // so the caller can show its log
        throw err;
      }
    }
    return proc;
  }

  /** Stops every process in reverse start order, each by its pid (and process group). */
  async stopAll(log = () => {}) {
    this.#stopping = true;
    for (const proc of [...this.procs].reverse()) await this.#stop(proc, log);
    this.#saveState();
  }

  /** Last resort (a second Ctrl-C): SIGKILL every group at once; waits at most 2 s for the exits. */
  async killAll() {
    this.#stopping = true;
    const live = this.procs.filter((p) => p.pid !== undefined);
    for (const proc of live) signalGroup(proc.pid, 'SIGKILL');
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(2000)]);
    this.#saveState();
  }

  async #stop(proc, log) {
    proc.stopRequested = true;
    if (proc.pid === undefined) return;
    const wasRunning = proc.exit === null;
    if (wasRunning) {
      const limit = proc.spec.stopTimeoutMs ?? DEFAULT_STOP_MS;
      signalGroup(proc.pid, 'SIGTERM');
      const timedOut = await Promise.race([proc.exited.then(() => false), sleep(limit).then(() => true)]);
      if (timedOut) {
        log(`${proc.spec.name} (pid ${proc.pid}) did not stop within ${limit} ms: SIGKILL`);
        signalGroup(proc.pid, 'SIGKILL');
        await proc.exited;
      }
    }
    // Anything it left in its group (a worker whose wrapper died) goes too.
    if (groupAlive(proc.pid)) {
      signalGroup(proc.pid, 'SIGTERM');
      for (let i = 0; i < 20 && groupAlive(proc.pid); i++) await sleep(100);
      if (groupAlive(proc.pid)) signalGroup(proc.pid, 'SIGKILL');
    }
    const { code, signal } = proc.exit ?? {};
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    log(wasRunning ? `stopped ${proc.spec.name} (pid ${proc.pid}, ${how})` : `${proc.spec.name} (pid ${proc.pid}) had already exited (${how})`);
  }

  /** What a later run needs to clean up after us if we are killed (see leftovers.mjs). */
  #saveState() {
    const state = {
      ...this.#meta,
      owner: { pid: process.pid, startTicks: startTicks(process.pid) },
      stopped: this.#stopping && this.procs.every((p) => p.exit !== null || p.pid === undefined),
      procs: this.procs
        .filter((p) => p.pid !== undefined)
        .map((p) => ({ name: p.spec.name, pid: p.pid, startTicks: p.startTicks })),
    };
    writeFileSync(this.#stateFile, `${JSON.stringify(state, null, 2)}\n`);
  }
}
