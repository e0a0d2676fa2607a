// Targets that are one server named after them: pid and self (the first identity seen is the
// process, for good) and pidfile (the process the file names, restarts included).
import type { Target } from './config-schema.js';
import type { Observation } from './sampler.js';
import { ServerState, keep, type ServerReport } from './server-state.js';
import type { Resolution } from './source.js';
import type { Tracker, TrackResult } from './tracker.js';

/** A pidfile written this long before its process started cannot be that process's (coarse-mtime filesystems round to 1 s). */
export const PIDFILE_CLOCK_SLACK_MS = 1000;

/** A target that is one server, named after it. */
abstract class SingleServerTracker implements Tracker {
  protected readonly server: ServerState;

  constructor(target: Target) {
    this.server = new ServerState(target.id, target.id, target.intervalMs);
  }

  abstract observe(resolution: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult;
}

/** pid and self targets: the first identity seen is the process, for good. */
export class FirstIdentityTracker extends SingleServerTracker {
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
export class PidfileTracker extends SingleServerTracker {
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
