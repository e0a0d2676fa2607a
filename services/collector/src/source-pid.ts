// A target named by a fixed pid (a `pid` target, or `self`: the agent's own pid): that pid is
// always the one candidate.
import type { Resolution, Source } from './source.js';

export class PidSource implements Source {
  readonly #pid: number;

  constructor(pid: number) {
    this.#pid = pid;
  }

  async resolve(): Promise<Resolution> {
    return { pids: [this.#pid] };
  }
}
