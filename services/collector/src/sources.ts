// Which source watches a target: one per selector kind (the contract is source.ts). Those that
// read files or /proc get a deadline (source-deadline.ts).
import type { Logger } from 'pino';
import type { Target } from './config-schema.js';
import { CommandSource } from './source-command.js';
import { MatchSource } from './source-match.js';
import { PidSource } from './source-pid.js';
import { DeadlineSource } from './source-deadline.js';
import { PidfileSource } from './source-pidfile.js';
import type { Source } from './source.js';
import type { Supervisor } from './supervisor.js';

export type SourceDeps = { logger: Logger; selfPid: number; /** The target's supervisor, for command targets. */ supervisor?: Supervisor };

export function createSource(target: Target, deps: SourceDeps): Source {
  switch (target.kind) {
    case 'pid':
      return new PidSource(target.pid);
    case 'pidfile':
      return new DeadlineSource(new PidfileSource(target.id, target.pidfile, deps.logger), target.id, deps.logger);
    case 'match': {
      const { id: targetId, match, refused } = target;
      return new DeadlineSource(new MatchSource({ targetId, match, refused, logger: deps.logger }), target.id, deps.logger);
    }
    case 'self':
      return new PidSource(deps.selfPid);
    case 'command':
      if (!deps.supervisor) throw new Error(`command target ${target.id} needs its supervisor`);
      return new CommandSource(deps.supervisor);
  }
}
