// Bytes written one piece after the other into one growing Buffer: how a tick's events reach the
// socket without a string per event. A sample's JSON built as a string was a rope of a dozen
// pieces, flattened once to be checked, again inside the event's line, then UTF-8-encoded; with
// the collections of those strings that was most of what a tick cost beyond sampling. Here each
// piece is copied in as bytes (fixed pieces encoded once and kept), numbers as their digits.
// A ByteLines may be reset and filled again: a writer keeps one and reuses it tick after tick.

/** Pieces this short are copied byte by byte: cheaper than a call into the runtime. */
const SHORT = 16;

export class ByteLines {
  #buf: Buffer;
  #at = 0;

  /** `size`: the bytes it will probably hold (it grows past it when needed). */
  constructor(size = 4096) {
    this.#buf = Buffer.allocUnsafe(Math.max(size, 64));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#at;
  }

  /** Empty again, keeping its memory. */
  reset(): void {
    this.#at = 0;
  }

  /** What was written (a view: valid until the next write or reset). */
  view(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }

  /** The byte at `index` (0 ≤ index < length). */
  at(index: number): number {
    return this.#buf[index]!;
  }

  /** Where `byte` last occurs before `length` (-1 if nowhere), searched backwards: a body just written is checked by finding its separator. */
  lastIndexOf(byte: number): number {
    return this.#at === 0 ? -1 : this.#buf.lastIndexOf(byte, this.#at - 1);
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#at++] = b;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#at;
    if (n <= SHORT) {
      for (let i = 0; i < n; i++) buf[at++] = b[i]!;
    } else {
      buf.set(b, at);
      at += n;
    }
    this.#at = at;
  }

  /** Text, as UTF-8. */
  string(s: string): void {
    // A UTF-16 unit takes at most 3 bytes; the exact size is measured only when room is short.
    if (this.#buf.length - this.#at < s.length * 3) this.#room(Buffer.byteLength(s));
    this.#at += this.#buf.write(s, this.#at);
  }

  /** A number as JSON.stringify writes it (`null` when not finite). */
  number(n: number): void {
    if (Number.isSafeInteger(n)) this.#integer(n);
    else this.#ascii(Number.isFinite(n) ? String(n) : 'null');
  }

  /** Text known to be ASCII and short (a number's): byte by byte, cheaper than a call into the runtime. */
  #ascii(s: string): void {
    const n = s.length;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#at;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.#at = at;
  }

  /** A safe integer's digits (String(n) without the string); below 2^31 with integer arithmetic. */
  #integer(n: number): void {
    if (n < 0) {
      this.byte(0x2d);
      n = -n;
    }
    if (n >= 0x80000000) {
      this.#ascii(String(n));
      return;
    }
    const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10_000 ? 4 : n < 100_000 ? 5 : n < 1_000_000 ? 6 : n < 10_000_000 ? 7 : n < 100_000_000 ? 8 : n < 1_000_000_000 ? 9 : 10;
    this.#room(digits);
    const buf = this.#buf;
    let i = this.#at + digits;
    this.#at = i;
    let rest = n | 0;
    do {
      const q = (rest / 10) | 0;
      buf[--i] = 0x30 + rest - q * 10;
      rest = q;
    } while (rest > 0);
  }

  #room(bytes: number): void {
    if (this.#buf.length - this.#at >= bytes) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + bytes));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }
}

/** A payload that writes its own JSON: one object, on one line, and the same text every time. */
export interface EventBody {
  /** About how many bytes it writes (sizes the buffer up front). */
  readonly sizeHint: number;
  writeTo(out: ByteLines): void;
}

/** The text of a body, whichever form it has. */
export function bodyText(body: string | EventBody): string {
  if (typeof body === 'string') return body;
  const out = new ByteLines(body.sizeHint);
  body.writeTo(out);
  return out.view().toString('utf8');
}
