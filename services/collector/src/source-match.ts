// A target named by a regular expression over command lines: every matching process is a
// candidate (the /proc scan excludes the agent itself, whose own command line may hold the regex).
// A pattern refused at load (regex-safety.ts) never runs; one that still takes longer than its
// budget in a tick is disabled for good. Either way the target reports why (in its exit reason,
// and one log line with the code), and the other targets keep their schedule.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import type { Resolution, Source, TickContext } from './source.js';

/** A pattern sees at most this much of a command line, so a polynomial pattern's worst case stays bounded. */
export const MATCH_TEXT_MAX = 32 * 1024;
/** Matching time one target may spend per tick, over all processes. */
export const MATCH_BUDGET_MS = 250;

export type MatchSourceOptions = {
  targetId: string;
  match: RegExp;
  /** Why the pattern was refused at load, if it was. */
  refused?: string;
  logger: Logger;
  budgetMs?: number;
};

export class MatchSource implements Source {
  readonly #match: RegExp;
  readonly #o: MatchSourceOptions;
  #disabled: string | null = null;

  constructor(options: MatchSourceOptions) {
    this.#o = options;
    // A copy without g/y flags: test() must not carry lastIndex from one process to the next.
    this.#match = new RegExp(options.match.source, options.match.flags.replace(/[gy]/g, ''));
    if (options.refused !== undefined) {
      this.#disable(ErrorCodes.REGEX_UNSAFE, `match pattern refused: it ${options.refused}`);
    }
  }

  async resolve(ctx: TickContext): Promise<Resolution> {
    if (this.#disabled !== null) return { pids: [], unresolved: this.#disabled };
    const processes = await ctx.processes();
    const budget = this.#o.budgetMs ?? MATCH_BUDGET_MS;
    const pids: number[] = [];
    const start = performance.now();
    for (const p of processes) {
      const text = p.cmdline.length > MATCH_TEXT_MAX ? p.cmdline.slice(0, MATCH_TEXT_MAX) : p.cmdline;
      if (this.#match.test(text)) pids.push(p.pid);
      const spent = performance.now() - start;
      if (spent > budget) {
        const reason = `match pattern disabled: matching took ${Math.round(spent)} ms in one tick, over its budget of ${budget} ms`;
        this.#disable(ErrorCodes.REGEX_TOO_SLOW, reason);
        return { pids: [], unresolved: this.#disabled! };
      }
    }
    return { pids };
  }

  #disable(code: string, reason: string): void {
    this.#disabled = `${reason} (${code})`;
    this.#o.logger.error({ code, targetId: this.#o.targetId }, `target ${this.#o.targetId}: ${reason}`);
  }
}
