// What a target is, seen from a tick: a source names the pids that may be the target's process
// right now. Whether a pid really is that process (same start time) is the tracker's business.
import type { Logger } from 'pino';
import type { Target } from './config.js';
import type { ProcessEntry } from './proc.js';
import { PidSource } from './source-pid.js';
import { PidfileSource } from './source-pidfile.js';
import { MatchSource } from './source-match.js';
import { CommandSource } from './source-command.js';
import type { Supervisor } from './supervisor.js';

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
  resolve(ctx: TickContext): Promise<Resolution>;
}

export type SourceDeps = { logger: Logger; selfPid: number; /** The target's supervisor, for command targets. */ supervisor?: Supervisor };

export function createSource(target: Target, deps: SourceDeps): Source {
  switch (target.kind) {
    case 'pid':
      return new PidSource(target.pid);
    case 'pidfile':
      return new PidfileSource(target.id, target.pidfile, deps.logger);
    case 'match':
      return new MatchSource(target.match);
    case 'self':
      return new PidSource(deps.selfPid);
    case 'command':
      if (!deps.supervisor) throw new Error(`command target ${target.id} needs its supervisor`);
      return new CommandSource(deps.supervisor);
  }
}
