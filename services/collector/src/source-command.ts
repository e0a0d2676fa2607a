// A supervised command: the agent started the process, so the candidate is simply its live
// child (none between a crash and the restart).
import type { Resolution, Source } from './source.js';
import type { Supervisor } from './supervisor.js';

export class CommandSource implements Source {
  readonly #supervisor: Supervisor;

  constructor(supervisor: Supervisor) {
    this.#supervisor = supervisor;
  }

  async resolve(): Promise<Resolution> {
    const pid = this.#supervisor.pid;
    return pid === null ? { pids: [], unresolved: 'not running' } : { pids: [pid] };
  }
}
