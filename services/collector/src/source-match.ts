// A target named by a regular expression over command lines: every matching process is a
// candidate (the /proc scan excludes the agent itself, whose own command line may hold the regex).
import type { Resolution, Source, TickContext } from './source.js';

export class MatchSource implements Source {
  readonly #match: RegExp;

  constructor(match: RegExp) {
    // A copy without g/y flags: test() must not carry lastIndex from one process to the next.
    this.#match = new RegExp(match.source, match.flags.replace(/[gy]/g, ''));
  }

  async resolve(ctx: TickContext): Promise<Resolution> {
    const pids: number[] = [];
    for (const p of await ctx.processes()) if (this.#match.test(p.cmdline)) pids.push(p.pid);
    return { pids };
  }
}
