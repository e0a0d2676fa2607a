// One Redis write at a time. Metrics ticks, status changes and log batches share the connection;
// queued one behind the other, a log batch can never overtake another (line order per server
// holds) and a tick is delayed by a log batch, never interleaved with it.
import type { Batch, WriteOptions } from '@vigil/store';
import { InOrder } from '@vigil/protocol/runtime';

export type Writer = { write(batch: Batch, options?: WriteOptions): Promise<string[]> };

export class SerialWriter implements Writer {
  readonly #writer: Writer;
  readonly #order = new InOrder();

  constructor(writer: Writer) {
    this.#writer = writer;
  }

  write(batch: Batch, options?: WriteOptions): Promise<string[]> {
    return this.#order.run(() => this.#writer.write(batch, options));
  }
}
