// What a target is, seen from a tick: a source names the pids that may be the target's process
// right now. Whether a pid really is that process (same start time) is the tracker's business.
// The implementations sit beside it (source-*.ts); sources.ts picks one for a target.
import type { ProcessEntry } from './proc.js';

/** Shared by the sources of one tick: the /proc scan is done at most once, and only if asked. */
export type TickContext = { processes(): Promise<ProcessEntry[]> };

export type Resolution = {
  /** Candidate pids, in the order the source found them. */
  pids: number[];
  /** mtime of the pidfile that named the pid, to tell a stale pidfile from a restart. */
  pidfileMtimeMs?: number;
  /** Why there is no candidate, when the source could not resolve (e.g. a missing pidfile). */
  unresolved?: string;
};

export interface Source {
  /** A source that knows at once (a fixed pid) answers without a promise: one fewer per target per tick. */
  resolve(ctx: TickContext): Resolution | Promise<Resolution>;
}
