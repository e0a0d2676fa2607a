// One server as the collector knows it: its status, the process it is (identity), the last one
// it was, and how a status changes. Trackers decide which process is which server; this holds
// the result and builds the change events.
import type { Observation } from './sampler.js';

export type TrackedStatus = 'running' | 'exited' | 'restarted' | 'stopped';
export type StatusChange = {
  status: TrackedStatus;
  pid: number | null;
  previousPid?: number;
  reason?: string;
  /** How a supervised process ended (command targets only). */
  exitCode?: number | null;
  signal?: string | null;
};

/** One server as the collector knows it. Mutated only by its tracker (and the command cache). */
export class ServerState {
  readonly serverId: string;
  readonly targetId: string;
  readonly intervalMs: number;
  status: TrackedStatus | null = null;
  /** The live process this server is, or null while exited. */
  process: Observation | null = null;
  /** The last process this server was (kept after it exits). */
  lastPid: number | null = null;
  lastKey: string | null = null;
  startedAt: number | null = null;
  command: string | null = null;
  /** Identity the command line was read for. */
  commandKey: string | null = null;
  restarts = 0;

  constructor(serverId: string, targetId: string, intervalMs: number) {
    this.serverId = serverId;
    this.targetId = targetId;
    this.intervalMs = intervalMs;
  }

  /** Becomes `o`; `restarted` when it was another process before. */
  adopt(o: Observation): StatusChange {
    const previous = this.lastKey !== null && this.lastKey !== o.key ? this.lastPid : null;
    const change: StatusChange =
      previous === null ? { status: 'running', pid: o.pid } : { status: 'restarted', pid: o.pid, previousPid: previous };
    if (change.status === 'restarted') this.restarts++;
    this.status = change.status;
    this.process = o;
    this.lastPid = o.pid;
    this.lastKey = o.key;
    this.startedAt = o.startedAt;
    return change;
  }

  /** Exits (reported once); the first report of a server with no process is an exit too. */
  exit(reason: string, pid: number | null = this.lastPid): StatusChange | null {
    this.process = null;
    if (this.status === 'exited') return null;
    this.status = 'exited';
    return { status: 'exited', pid, reason };
  }

  /** Its collector stops: nobody watches it from now on (the last thing said about it). */
  stop(): StatusChange {
    this.status = 'stopped';
    return { status: 'stopped', pid: this.process?.pid ?? this.lastPid, reason: 'collector stopped' };
  }
}

export type ServerReport = {
  server: ServerState;
  /** The process to publish a sample of, this tick. */
  sample: Observation | null;
  change: StatusChange | null;
};

/** Same identity again: keep sampling it (running again if a glitch had marked it exited). */
export function keep(server: ServerState, o: Observation): ServerReport {
  const change = server.status === 'exited' ? server.adopt(o) : null;
  server.process = o;
  return { server, sample: o, change };
}

