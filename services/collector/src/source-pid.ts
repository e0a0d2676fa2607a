// A target named by a fixed pid (a `pid` target, or `self`: the agent's own pid): that pid is
// always the one candidate.
import type { Resolution, Source } from './source.js';

export class PidSource implements Source {
  /** The same answer every tick (nobody changes a Resolution), made once. */
  readonly #resolution: Resolution;

  constructor(pid: number) {
    this.#resolution = { pids: [pid] };
  }

  resolve(): Resolution {
    return this.#resolution;
  }
}
