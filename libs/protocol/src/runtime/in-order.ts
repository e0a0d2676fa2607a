// Calls that must not overlap or overtake each other: each starts when the one before it has
// settled, whatever its outcome. (Redis writes sharing one connection, ticks of one schedule.)
export class InOrder {
  #last: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every call queued before it; its result or rejection is the caller's. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#last.then(fn);
    this.#last = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every call queued so far has settled. */
  idle(): Promise<void> {
    return this.#last.then(() => undefined);
  }
}
