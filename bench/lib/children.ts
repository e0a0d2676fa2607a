// Benchmark child processes: TypeScript entry files run like the parent (tsx, vigil:source), talking
// over Node's IPC channel. Every child is tracked so that the parent can kill exactly the processes it
// started, by pid, whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_AUTH_ENV, BENCH_SECRET } from './auth.js';

export type Message = { type: string } & Record<string, unknown>;

export type Child = {
  readonly pid: number;
  readonly name: string;
  /** Sends a message to the child. */
  send(message: Message): void;
  /** Resolves with the next message of `type` (messages that arrived earlier included). */
  next<T extends Message = Message>(type: string, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then SIGKILLs it if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

// redis-servers started through @vigil/testkit are not tracked here: the testkit kills the ones
// still running when this process exits or gets SIGINT/SIGTERM.
const running = new Set<ChildProcess>();

/** Kills every child this process started and has not stopped yet (used on errors and signals). */
export function killAll(): void {
  for (const proc of running) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  running.clear();
}

/** Tracks a process started elsewhere (e.g. an idle target) so that killAll() ends it too. */
export function track(proc: ChildProcess): void {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
}

function benchFile(name: string): string {
  return fileURLToPath(new URL(`../${name}`, import.meta.url));
}

/**
 * Extra Node flags for every child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a run (summarize
 * a profile with lib/profile-summary.ts); VIGIL_BENCH_CHILD_NODE_ARGS_FOR=gateway-proc.ts,… gives them only
 * to the children started from those files.
 */
const CHILD_NODE_ARGS = (process.env.VIGIL_BENCH_CHILD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const CHILD_NODE_ARGS_FOR = (process.env.VIGIL_BENCH_CHILD_NODE_ARGS_FOR ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function spawnTs(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const extra = CHILD_NODE_ARGS_FOR.length === 0 || CHILD_NODE_ARGS_FOR.includes(name) ? CHILD_NODE_ARGS : [];
  const nodeArgs = [...extra, '--import', 'tsx', '--conditions=vigil:source'];
  const proc = spawn(process.execPath, [...nodeArgs, benchFile(name), ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [BENCH_AUTH_ENV]: BENCH_SECRET, ...env },
  });
  running.add(proc);
  const inbox: Message[] = [];
  const waiters: Array<{ type: string; resolve: (m: Message) => void }> = [];
  let exitReason: string | null = null;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      exitReason = `${name} exited (code ${code}, signal ${signal})`;
      resolve();
    }),
  );
  proc.on('message', (raw) => {
    const m = raw as Message;
    const at = waiters.findIndex((w) => w.type === m.type);
    if (at >= 0) waiters.splice(at, 1)[0]!.resolve(m);
    else inbox.push(m);
  });

  const child: Child = {
    pid: proc.pid ?? -1,
    name,
    send(message) {
      if (proc.connected) proc.send(message);
    },
    next<T extends Message>(type: string, timeoutMs = 60_000): Promise<T> {
      const at = inbox.findIndex((m) => m.type === type);
      if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0] as T);
      return new Promise<T>((resolve, reject) => {
        const waiter = {
          type,
          resolve: (m: Message) => {
            clearTimeout(timer);
            clearInterval(watch);
            resolve(m as T);
          },
        };
        const fail = (why: string) => {
          clearTimeout(timer);
          clearInterval(watch);
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(why));
        };
        const timer = setTimeout(() => fail(`${name}: no "${type}" within ${timeoutMs} ms`), timeoutMs);
        const watch = setInterval(() => {
          if (exitReason) fail(`${exitReason} while waiting for "${type}"`);
        }, 100);
        waiters.push(waiter);
      });
    },
    async stop(graceMs = 3000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    proc.once('spawn', () => resolve(child));
    proc.once('error', reject);
  });
}

/** In a child: sends a message to the parent. */
export function tellParent(message: Message): void {
  process.send?.(message);
}

/** In a child: handles the parent's messages; `stop` runs `onStop` then exits. */
export function onParentMessage(handle: (m: Message) => void | Promise<void>, onStop: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await onStop();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (raw) => {
    const m = raw as Message;
    if (m.type === 'stop') void stop();
    else
      Promise.resolve(handle(m)).catch((err: Error) => {
        tellParent({ type: 'error', message: err.stack ?? err.message });
      });
  });
  // The parent went away: nobody will read our figures, and nobody else will stop us.
  process.on('disconnect', () => void stop());
}

/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, what process.hrtime reads): the same
 * clock in every process of this machine, with sub-microsecond resolution, so a time taken in one
 * process can be subtracted from a time taken in another.
 */
export function monoNow(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
