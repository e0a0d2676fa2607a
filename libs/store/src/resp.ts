// A collector's per-tick commands, encoded as RESP by us instead of by ioredis. A tick at 1,000
// servers is one script call with 2,000 keys and a few hundred KB of events: ioredis formats
// every argument as a string of its own, gathers them, then copies them all into one buffer,
// and that was most of what a tick cost beyond sampling. Here each server's keys are encoded once
// (and kept), the events are copied in as bytes, and the command is one buffer written as it is.
import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

const CRLF = 0x0d0a;
/** Room kept in front of a command's arguments for its head (`*<n>`, the command name, the sha). */
const HEAD_ROOM = 96;

/** A command's arguments, appended as RESP bulk strings into one buffer that grows as needed. */
export class RespArgs {
  #buf: Buffer;
  #at = HEAD_ROOM;
  #count = 0;

  /** `sizeHint`: the bytes the arguments will probably take (it grows past it when needed). */
  constructor(sizeHint = 4096) {
    this.#buf = Buffer.allocUnsafe(HEAD_ROOM + Math.max(sizeHint, 256));
  }

  /** No arguments again, keeping its memory (only once a command made of it has been answered). */
  reset(): void {
    this.#at = HEAD_ROOM;
    this.#count = 0;
  }

  /** Arguments appended so far. */
  get count(): number {
    return this.#count;
  }

  /** One argument. */
  string(s: string): void {
    const bytes = Buffer.byteLength(s);
    this.#header(bytes);
    this.#at += this.#buf.write(s, this.#at);
    this.#crlf();
  }

  /** One argument, as bytes. */
  bytes(b: Uint8Array): void {
    this.#header(b.length);
    this.#buf.set(b, this.#at);
    this.#at += b.length;
    this.#crlf();
  }

  /** `count` arguments already RESP-encoded (encodedArgs()). */
  encoded(b: Buffer, count: number): void {
    const n = b.length;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#at;
    // A server's keys are short: a loop is cheaper than a call into the runtime.
    if (n <= 128) for (let i = 0; i < n; i++) buf[at++] = b[i]!;
    else {
      buf.set(b, at);
      at += n;
    }
    this.#at = at;
    this.#count += count;
  }

  /** The whole command: `head` (from commandHead) in front of the arguments, without a copy. */
  withHead(head: Buffer): Buffer {
    const start = HEAD_ROOM - head.length;
    head.copy(this.#buf, start);
    return this.#buf.subarray(start, this.#at);
  }

  /** The arguments alone (for a different head: Buffer.concat([head, args])). */
  args(): Buffer {
    return this.#buf.subarray(HEAD_ROOM, this.#at);
  }

  #header(bytes: number): void {
    this.#room(bytes + 24);
    this.#buf[this.#at++] = 0x24; // $
    this.#at += this.#buf.write(String(bytes), this.#at, 'latin1');
    this.#crlf();
    this.#count++;
  }

  #crlf(): void {
    this.#buf.writeUInt16BE(CRLF, this.#at);
    this.#at += 2;
  }

  #room(bytes: number): void {
    if (this.#buf.length - this.#at >= bytes) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + bytes));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }
}

/** Arguments encoded once and kept (a server's keys), to be copied into commands with RespArgs.encoded. */
export function encodedArgs(...args: string[]): Buffer {
  const out = new RespArgs(args.reduce((n, a) => n + a.length + 16, 0));
  for (const a of args) out.string(a);
  return Buffer.from(out.args());
}

/** `*<argc>` and the first arguments of a command (its name, and the sha or script). */
function commandHead(argc: number, ...first: string[]): Buffer {
  let head = `*${argc}\r\n`;
  for (const f of first) head += `$${Buffer.byteLength(f)}\r\n${f}\r\n`;
  return Buffer.from(head);
}

/** A command whose bytes are already made: ioredis queues it, sends it (again after a reconnect) and parses its reply as for any other. */
class Encoded extends Command {
  readonly #bytes: Buffer;

  constructor(name: string, bytes: Buffer) {
    super(name, [], { replyEncoding: 'utf8' });
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}

/**
 * A Lua script called with arguments we encoded: EVALSHA first, EVAL when Redis does not know the
 * script (a restart, SCRIPT FLUSH), as ioredis's own defineCommand does. The collector's Redis user
 * may run EVAL and EVALSHA, not SCRIPT LOAD (deploy/redis/users.acl).
 */
export class EncodedScript {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; `args` starts with numkeys, as EVALSHA's arguments after the sha do. */
  async call(redis: Redis, args: RespArgs): Promise<unknown> {
    const argc = 2 + args.count;
    try {
      return await redis.sendCommand(new Encoded('evalsha', args.withHead(commandHead(argc, 'evalsha', this.#sha))));
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      // Nothing ran: the same arguments go again with the script itself, which Redis then keeps.
      return redis.sendCommand(new Encoded('eval', Buffer.concat([commandHead(argc, 'eval', this.#lua), args.args()])));
    }
  }
}
