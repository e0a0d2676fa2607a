// Which source watches a target: one per selector kind (the contract is source.ts).
import type { Logger } from 'pino';
import type { Target } from './config-schema.js';
import { CommandSource } from './source-command.js';
import { MatchSource } from './source-match.js';
import { PidSource } from './source-pid.js';
import { PidfileSource } from './source-pidfile.js';
import type { Source } from './source.js';
import type { Supervisor } from './supervisor.js';

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
