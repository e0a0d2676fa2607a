// command targets: the supervisor knows when its child starts and exits (and how), so status
// changes come from it as they happen, not from ticks; a tick only samples the live child.
// Every exit is `exited` (with exitCode or signal), every later start `restarted` (previousPid).
import type { Target } from './config-schema.js';
import type { Observation } from './sampler.js';
import { ServerState, type ServerReport, type StatusChange } from './server-state.js';
import type { Resolution } from './source.js';
import type { Exit } from './supervisor.js';
import type { Tracker, TrackResult } from './tracker.js';

export class CommandTracker implements Tracker {
  readonly #server: ServerState;
  #starts = 0;

  /** `command`: the registry's command line, as it may leave the host (redacted). */
  constructor(target: Target & { kind: 'command' }, command: string) {
    this.#server = new ServerState(target.id, target.id, target.intervalMs);
    this.#server.command = command;
  }

  started(pid: number, at: number): ServerReport {
    const s = this.#server;
    const change: StatusChange =
      this.#starts++ === 0
        ? { status: 'running', pid }
        : s.lastPid === null
          ? { status: 'restarted', pid }
          : { status: 'restarted', pid, previousPid: s.lastPid };
    if (change.status === 'restarted') s.restarts++;
    s.status = change.status;
    s.process = null;
    s.lastPid = pid;
    s.lastKey = null;
    s.startedAt = at;
    return { server: s, sample: null, change };
  }

  exited(exit: Exit, reason: string): ServerReport {
    const s = this.#server;
    s.process = null;
    s.status = 'exited';
    const change: StatusChange = { status: 'exited', pid: exit.pid, exitCode: exit.exitCode, signal: exit.signal, reason };
    return { server: s, sample: null, change };
  }

  observe(res: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult {
    const s = this.#server;
    const pid = res.pids[0];
    const o = pid === undefined ? undefined : seen.get(pid);
    if (!o || s.status === 'exited' || pid !== s.lastPid) return { reports: [{ server: s, sample: null, change: null }], extra: 0 };
    s.process = o;
    s.lastKey = o.key;
    return { reports: [{ server: s, sample: o, change: null }], extra: 0 };
  }
}
