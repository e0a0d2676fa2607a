// A task that runs again `everyMs` after each run ends (runs never overlap), until stopped: the
// loop of the gateway's sweeps. A failed run is reported and the next one is scheduled anyway.
export class Periodic {
  readonly #everyMs: number;
  readonly #task: () => Promise<void>;
  readonly #onError: (err: Error) => void;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(everyMs: number, task: () => Promise<void>, onError: (err: Error) => void) {
    this.#everyMs = everyMs;
    this.#task = task;
    this.#onError = onError;
  }

  /** False once stop() was called: a long run checks it to end early. */
  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#task()
        .catch(this.#onError)
        .finally(() => this.#schedule());
    }, this.#everyMs);
  }
}
