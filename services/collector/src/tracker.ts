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
//
// The contract is here; pid/self and pidfile trackers are in tracker-identity.ts, trackers.ts
// picks one for a target.
import type { Observation } from './sampler.js';
import type { Resolution } from './source.js';
import type { ServerReport } from './server-state.js';

export type TrackResult = { reports: ServerReport[]; /** live matches beyond maxInstances */ extra: number };

export interface Tracker {
  observe(resolution: Resolution, seen: ReadonlyMap<number, Observation>): TrackResult;
}
