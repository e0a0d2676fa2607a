// Lines of a child's stdout or stderr as they arrive: split on \n (a \r before it is dropped),
// decoded as UTF-8 line by line (so a character split across two chunks is never mangled), a
// partial last line held until its newline or until the stream ends. A pipe cannot wait, so
// what the sink refuses is dropped there and counted, never held here.
import type { Readable } from 'node:stream';
import { MAX_LINE_BYTES, utf8Boundary, type Follower, type LineSink } from './follower.js';

type Emit = (text: string, cut: number) => void;

const CR = 13;
const LF = 10;

/** Splits a byte stream into lines; at most MAX_LINE_BYTES of a line are kept, the rest counted. */
export class LineSplitter {
  #parts: Buffer[] = [];
  #kept = 0;
  #cut = 0;
  #lastWasCR = false;

  push(chunk: Buffer, emit: Emit): void {
    let start = 0;
    let nl = chunk.indexOf(LF);
    if (this.#kept > 0 || this.#cut > 0) {
      if (nl < 0) return this.#hold(chunk, 0, chunk.length);
      this.#hold(chunk, 0, nl);
      this.#emitHeld(emit);
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    while (nl >= 0) {
      const end = nl > start && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (end - start <= MAX_LINE_BYTES) emit(chunk.toString('utf8', start, end), 0);
      else {
        const kept = utf8Boundary(chunk, start, start + MAX_LINE_BYTES);
        emit(chunk.toString('utf8', start, kept), end - kept);
      }
      start = nl + 1;
      nl = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.#hold(chunk, start, chunk.length);
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(emit: Emit): void {
    if (this.#kept > 0 || this.#cut > 0) this.#emitHeld(emit);
  }

  #hold(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    const take = Math.min(end - start, MAX_LINE_BYTES - this.#kept);
    // A copy: a slice would pin the whole chunk for as long as the line is partial.
    if (take > 0) this.#parts.push(Buffer.from(chunk.subarray(start, start + take)));
    this.#kept += take;
    this.#cut += end - start - take;
    this.#lastWasCR = chunk[end - 1] === CR;
  }

  #emitHeld(emit: Emit): void {
    const buf = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#kept);
    let end = this.#kept;
    let cut = this.#cut;
    if (this.#lastWasCR) {
      if (cut > 0) cut--;
      else end--;
    }
    if (cut > 0) {
      const kept = utf8Boundary(buf, 0, end);
      cut += end - kept;
      end = kept;
    }
    this.#parts = [];
    this.#kept = 0;
    this.#cut = 0;
    this.#lastWasCR = false;
    emit(buf.toString('utf8', 0, end), cut);
  }
}

export class StdioFollower implements Follower {
  readonly #stream: Readable;
  readonly #sink: LineSink;
  readonly #splitter = new LineSplitter();
  readonly #emit: Emit;
  #finished = false;
  /** Resolves once the stream has ended (or closed, or failed) and the last line is out. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(stream: Readable, sink: LineSink) {
    this.#stream = stream;
    this.#sink = sink;
    this.#emit = (text, cut) => void this.#sink.line(text, cut, Date.now());
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  start(): void {
    this.#stream.on('data', (chunk: Buffer) => this.#splitter.push(chunk, this.#emit));
    this.#stream.once('end', () => this.#finish());
    this.#stream.once('close', () => this.#finish());
    // A read error on a pipe means the other end is gone: what was read is flushed.
    this.#stream.on('error', () => this.#finish());
  }

  /** Gives up on the stream (e.g. a grandchild still holds it open) and flushes the partial line. */
  async stop(): Promise<void> {
    if (!this.#finished) this.#stream.destroy();
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#splitter.end(this.#emit);
    this.#resolveDone();
  }
}
