// A supervised command, as a process manager runs one: started by the agent in its own process
// group, stdout and stderr captured line by line, restarted after a crash (a non-zero exit code,
// a signal, or a failure to start) with exponential backoff, up to `maxRestarts` in a row. A run
// that lasted `resetAfterMs` counts as healthy again. A clean exit (code 0) is not a crash: it is
// reported and not restarted. stop() sends SIGTERM to the group, SIGKILL after `stopGraceMs`,
// and resolves once the child is gone and its output read. The child does not inherit the agent's
// environment (which holds VIGIL_REDIS_URL and whatever else the agent was given): only a few
// variables every program expects, plus the target's own `env`.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { LineSink } from './follower.js';
import { StdioFollower } from './follower-stdio.js';
import { liveGroupMembers } from './proc.js';

export type RestartPolicy = { maxRestarts: number; backoffMs: number; maxBackoffMs: number; resetAfterMs: number };

export const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 10, backoffMs: 500, maxBackoffMs: 30_000, resetAfterMs: 60_000 };
export const DEFAULT_STOP_GRACE_MS = 5000;

export type CommandSpec = {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  restart: RestartPolicy;
  stopGraceMs: number;
};

/** What happens after an exit. */
export type Next =
  | { kind: 'restart'; inMs: number; restart: number; of: number }
  | { kind: 'gave-up'; restarts: number }
  | { kind: 'clean' }
  | { kind: 'stopped' };

export type Exit = {
  pid: number | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all. */
  spawnError?: string;
  at: number;
  next: Next;
};

export type SupervisorHooks = {
  stdout: LineSink;
  stderr: LineSink;
  started(pid: number, at: number): void;
  exited(exit: Exit): void;
  logger: Logger;
  now?: () => number;
};

/** What a supervised command inherits from the agent's environment (and every `LC_*`). */
export const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'SHELL', 'TMPDIR', 'TERM'] as const;

/** A supervised command's environment: the inherited few from `parent`, then the target's `env` (which wins). */
export function childEnv(parent: NodeJS.ProcessEnv, own: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && ((INHERITED_ENV as readonly string[]).includes(name) || name.startsWith('LC_'))) env[name] = value;
  }
  return { ...env, ...own };
}

/** After the child exits, how long its output may take to end (a grandchild may hold the pipe). */
const DRAIN_MS = 1000;
/** While stopping, how often to look whether the rest of the process group is gone. */
const GROUP_POLL_MS = 50;

export class Supervisor {
  readonly #spec: CommandSpec;
  readonly #h: SupervisorHooks;
  readonly #now: () => number;
  #child: ChildProcess | null = null;
  #pid: number | null = null;
  /** Resolves when the current child is gone and its exit reported. */
  #gone: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | null = null;
  /** Crashes in a row (reset by a run of resetAfterMs). */
  #crashes = 0;
  #stopping = false;

  constructor(spec: CommandSpec, hooks: SupervisorHooks) {
    this.#spec = spec;
    this.#h = hooks;
    this.#now = hooks.now ?? Date.now;
  }

  /** The live child's pid, or null between runs. */
  get pid(): number | null {
    return this.#pid;
  }

  start(): void {
    this.#stopping = false;
    this.#spawn();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const pid = child.pid;
      const deadline = performance.now() + this.#spec.stopGraceMs;
      signalGroup(pid, 'SIGTERM', child);
      const kill = setTimeout(() => signalGroup(pid, 'SIGKILL', child), this.#spec.stopGraceMs);
      await this.#gone;
      clearTimeout(kill);
      // The leader is gone; what else it started in its group gets the rest of the grace.
      while ((await liveGroupMembers(pid)) > 0) {
        if (performance.now() >= deadline) {
          signalGroup(pid, 'SIGKILL', null);
          break;
        }
        await new Promise((r) => setTimeout(r, GROUP_POLL_MS));
      }
    }
    await this.#gone;
  }

  #spawn(): void {
    this.#restartTimer = null;
    const { argv, cwd, env } = this.#spec;
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: childEnv(process.env, env),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stop() reaches whatever it starts in turn.
      detached: true,
    });
    this.#child = child;
    const out = new StdioFollower(child.stdout!, this.#h.stdout);
    const err = new StdioFollower(child.stderr!, this.#h.stderr);
    out.start();
    err.start();
    let resolveGone!: () => void;
    this.#gone = new Promise((resolve) => (resolveGone = resolve));
    let ended = false;
    const end = async (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (ended) return;
      ended = true;
      // Every line the child wrote comes before the news of its exit.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([out.done, err.done]), new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
      await Promise.all([out.stop(), err.stop()]);
      const pid = this.#pid;
      this.#child = null;
      this.#pid = null;
      this.#h.exited({ pid, exitCode, signal, spawnError, at: this.#now(), next: this.#next(exitCode, spawnError, performance.now() - started) });
      resolveGone();
    };
    child.once('spawn', () => {
      this.#pid = child.pid!;
      this.#h.started(child.pid!, this.#now());
    });
    child.once('exit', (code, signal) => void end(code, signal));
    child.on('error', (e: Error) => {
      // Without a pid it never started; otherwise (a failed kill) the exit still comes.
      if (child.pid === undefined) void end(null, null, e.message);
      else this.#h.logger.debug({ err: e.message }, 'supervised child error');
    });
  }

  #next(exitCode: number | null, spawnError: string | undefined, ranMs: number): Next {
    if (this.#stopping) return { kind: 'stopped' };
    if (exitCode === 0 && spawnError === undefined) return { kind: 'clean' };
    const p = this.#spec.restart;
    if (ranMs >= p.resetAfterMs) this.#crashes = 0;
    if (this.#crashes >= p.maxRestarts) return { kind: 'gave-up', restarts: this.#crashes };
    const inMs = Math.min(p.backoffMs * 2 ** this.#crashes, p.maxBackoffMs);
    this.#crashes++;
    this.#restartTimer = setTimeout(() => this.#spawn(), inMs);
    return { kind: 'restart', inMs, restart: this.#crashes, of: p.maxRestarts };
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals, leader: ChildProcess | null): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // No such group (yet: setsid runs in the child after fork): the leader alone.
    try {
      leader?.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** "process 4242 exited with code 1; restarting in 500 ms (restart 1 of 10)", for status and log. */
export function describeExit(exit: Exit): string {
  const how =
    exit.spawnError !== undefined
      ? `failed to start: ${exit.spawnError}`
      : exit.signal !== null
        ? `process ${exit.pid} was killed by ${exit.signal}`
        : `process ${exit.pid} exited with code ${exit.exitCode}`;
  const n = exit.next;
  switch (n.kind) {
    case 'restart':
      return `${how}; restarting in ${n.inMs} ms (restart ${n.restart} of ${n.of})`;
    case 'gave-up':
      return `${how}; not restarting: ${n.restarts} restarts in a row reached maxRestarts`;
    case 'clean':
      return `${how}; not restarted (a clean exit)`;
    case 'stopped':
      return `${how}; stopped by the collector`;
  }
}
