// The agent watching itself: its own pid.
import type { Resolution, Source } from './source.js';

export class SelfSource implements Source {
  readonly #pid: number;

  constructor(pid: number) {
    this.#pid = pid;
  }

  async resolve(): Promise<Resolution> {
    return { pids: [this.#pid] };
  }
}
