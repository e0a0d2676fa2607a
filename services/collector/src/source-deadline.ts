// A deadline around any source, so one target whose file system hangs never holds up a tick: past
// the deadline the tick goes on without it and the target reads as unresolved (TARGET_TIMEOUT,
// in its exit reason and logged once per spell). The late resolve is never started twice: while it
// is still out, later ticks report the target at once instead of piling up calls that would each
// hold a libuv pool thread.
import type { Logger } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import type { Resolution, Source, TickContext } from './source.js';

/** How long a tick waits for one target's source. */
export const SOURCE_DEADLINE_MS = 1000;

export class DeadlineSource implements Source {
  readonly #inner: Source;
  readonly #targetId: string;
  readonly #logger: Logger;
  readonly #deadlineMs: number;
  #inflight: Promise<Resolution> | null = null;
  #late = false;

  constructor(inner: Source, targetId: string, logger: Logger, deadlineMs = SOURCE_DEADLINE_MS) {
    this.#inner = inner;
    this.#targetId = targetId;
    this.#logger = logger;
    this.#deadlineMs = deadlineMs;
  }

  async resolve(ctx: TickContext): Promise<Resolution> {
    const late = (): Resolution => {
      const reason = `finding the process took longer than ${this.#deadlineMs} ms (${ErrorCodes.TARGET_TIMEOUT})`;
      if (!this.#late) this.#logger.warn({ code: ErrorCodes.TARGET_TIMEOUT, targetId: this.#targetId }, reason);
      this.#late = true;
      return { pids: [], unresolved: reason };
    };
    if (this.#inflight) return late();
    const call = (async () => this.#inner.resolve(ctx))().catch((err: Error): Resolution => ({ pids: [], unresolved: `source failed: ${err.message}` }));
    this.#inflight = call;
    void call.finally(() => {
      if (this.#inflight === call) this.#inflight = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([call, new Promise<null>((resolve) => (timer = setTimeout(resolve, this.#deadlineMs, null)))]);
    clearTimeout(timer);
    if (outcome === null) return late();
    if (this.#late) this.#logger.info({ targetId: this.#targetId }, 'the target is found in time again');
    this.#late = false;
    return outcome;
  }
}
