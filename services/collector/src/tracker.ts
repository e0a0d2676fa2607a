// Tracking: which observed process is which server, and when a server's status changes.
// A process is its identity (pid, start time), never a bare pid. Statuses are running, exited and
// restarted; `stale` is for gateways to derive from heartbeats, never written here.
//
// - pid / self: the identity seen first is THE process; once it is gone the server stays exited,
//   whatever later holds the same pid.
// - pidfile: the file names the process; a new live identity is a restart, unless the file is
//   older than the process it names (a stale pidfile whose pid was reused): that is an exit.
// - match: one server per matching process, in stable slots (see tracker-slots.ts).
// - command: told by the supervisor as things happen (see tracker-command.ts).
import type { Target } from './config.js';
import type { Observation } from './sampler.js';
import type { Resolution } from './source.js';
import { SlotTracker } from './tracker-slots.js';
import { CommandTracker } from './tracker-command.js';
import { ServerState, keep, type ServerReport } from './server-state.js';

/** A pidfile written this long before its process started cannot be that process's (coarse-mtime filesystems round to 1 s). */
export const PIDFILE_CLOCK_SLACK_MS = 1000;

export type TrackResult = { reports: ServerReport[]; /** live matches beyond maxInstances */ extra: number };

export interface Tracker {
  observe(resolution: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult;
}

/** A target that is one server, named after it. */
abstract class SingleServerTracker implements Tracker {
  protected readonly server: ServerState;

  constructor(target: Target) {
    this.server = new ServerState(target.id, target.id, target.intervalMs);
  }

  abstract observe(resolution: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult;
}

/** pid and self targets: the first identity seen is the process, for good. */
class FirstIdentityTracker extends SingleServerTracker {
  observe(res: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult {
    const s = this.server;
    const pid = res.pids[0] ?? null;
    const o = pid === null ? undefined : seen.get(pid);
    let report: ServerReport;
    if (s.lastKey === null) {
      report = o ? { server: s, sample: o, change: s.adopt(o) } : { server: s, sample: null, change: s.exit(`pid ${pid} not found`, pid) };
    } else if (o && o.key === s.lastKey) {
      report = keep(s, o);
    } else {
      report = { server: s, sample: null, change: s.exit(o ? `pid ${pid} now belongs to another process` : 'process exited') };
    }
    return { reports: [report], extra: 0 };
  }
}

/** pidfile targets: the process the file names, restarts included. */
class PidfileTracker extends SingleServerTracker {
  observe(res: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult {
    const s = this.server;
    const pid = res.pids[0] ?? null;
    const o = pid === null ? undefined : seen.get(pid);
    const none = (reason: string): TrackResult => ({ reports: [{ server: s, sample: null, change: s.exit(reason) }], extra: 0 });
    if (!o) return none(res.unresolved ?? `pid ${pid} from pidfile not running`);
    if (o.key === s.lastKey) return { reports: [keep(s, o)], extra: 0 };
    if (res.pidfileMtimeMs !== undefined && res.pidfileMtimeMs < o.startedAt - PIDFILE_CLOCK_SLACK_MS) {
      return none(`pidfile is stale: pid ${pid} was reused by a later process`);
    }
    return { reports: [{ server: s, sample: o, change: s.adopt(o) }], extra: 0 };
  }
}

export function createTracker(target: Target): Tracker {
  switch (target.kind) {
    case 'pid':
    case 'self':
      return new FirstIdentityTracker(target);
    case 'pidfile':
      return new PidfileTracker(target);
    case 'match':
      return new SlotTracker(target.id, target.intervalMs, target.maxInstances);
    case 'command':
      return new CommandTracker(target);
  }
}
