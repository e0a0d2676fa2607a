// One Redis write at a time. Metrics ticks, status changes and log batches share the connection;
// queued one behind the other, a log batch can never overtake another (line order per server
// holds) and a tick is delayed by a log batch, never interleaved with it.
import type { Tick } from '@vigil/store';

export type Writer = { write(tick: Tick): Promise<string[]> };

export class SerialWriter implements Writer {
  readonly #writer: Writer;
  #last: Promise<unknown> = Promise.resolve();

  constructor(writer: Writer) {
    this.#writer = writer;
  }

  write(tick: Tick): Promise<string[]> {
    const run = this.#last.then(() => this.#writer.write(tick));
    this.#last = run.catch(() => undefined);
    return run;
  }
}
