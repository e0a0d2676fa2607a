// Following one log file by path, polled (fs.watch misses events on some filesystems and never
// sees a rename's target): from its end at the first start, from the remembered position after a
// restart, through rotation and truncation.
//
// - Rotation by rename: the path names another file. The old one stays open and is read to its
//   end, until one poll finds nothing more in it (a writer may still flush to it), then the new
//   file is read from 0.
// - Truncation: the file is shorter than what was read, or its first bytes changed (copytruncate
//   followed by fast appends can make it longer again before the next poll): read again from 0.
// - Back-pressure: while the log buffer is full, reading stops (the file is the buffer). A line is
//   remembered as read only once it is in Redis (or dropped and counted by the rate limit), so an
//   agent stopped with lines unwritten reads them again at its next start.
// - Never blocking: only a regular file is opened and read (regular-file.ts); a FIFO, device,
//   socket or directory is reported (FILE_NOT_REGULAR) and looked at again at each poll. A poll
//   that outlasts its deadline is reported (TARGET_TIMEOUT) and no second one starts meanwhile;
//   stop() waits for it no longer than its own deadline.
import { stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ErrorCodes, VigilError, type ErrorCode } from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';
import { MAX_LINE_BYTES, utf8Boundary, type Follower, type LineOwner, type LineSink, type Segment } from './follower.js';
import { openRegularFile } from './regular-file.js';

/** A place in a file: which file (`dev:ino`), how far, and its first bytes (base64) to tell a rewrite. */
export type FilePosition = { id: string; offset: number; head: string };

/** One file identity as read, shared by its lines, so a written line names where it came from. */
export type FileSegment = Segment & { id: string; head: Buffer };

export type FileFollowerOptions = {
  path: string;
  sink: LineSink;
  /** The remembered position, or null: start from the end. */
  resume: FilePosition | null;
  pollMs: number;
  logger: Logger;
  /** Told each new problem that has a code (once per change, like the log line), for the server's own log. */
  onProblem?: (problem: string) => void;
};

/** A poll taking longer than this is reported; stop() waits for one no longer than this either. */
export const FOLLOW_STEP_DEADLINE_MS = 2000;

const CHUNK = MAX_LINE_BYTES;
/** Bytes read per poll before yielding to the rest of the agent. */
const POLL_BUDGET = 16 * CHUNK;
const HEAD_BYTES = 64;
const LF = 10;
const CR = 13;

type Skipping = { text: string; cut: number; lastWasCR: boolean };
type Open = {
  handle: FileHandle;
  segment: FileSegment;
  /** End of the last line handed on. */
  consumed: number;
  /** Next byte to read: `consumed`, or further inside an overlong line being skipped. */
  pos: number;
  skipping: Skipping | null;
  lastSize: number;
  lastMtimeMs: number;
  /** The path was seen naming another file at the previous poll. */
  rotationSeen: boolean;
};

export class FileFollower implements Follower, LineOwner {
  readonly #o: FileFollowerOptions;
  readonly #buf = Buffer.allocUnsafe(CHUNK);
  #cur: Open | null = null;
  #firstOpen = true;
  /** Lines of this file in the log buffer, not yet written. */
  #pending = 0;
  /** Where everything before is disposed of (written or dropped), while lines are pending. */
  #committed: { segment: FileSegment; offset: number } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;
  #stopped = false;
  #problem: string | null = null;

  constructor(options: FileFollowerOptions) {
    this.#o = options;
  }

  get path(): string {
    return this.#o.path;
  }

  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const finished = this.#polling ? await withTimeout(this.#polling, FOLLOW_STEP_DEADLINE_MS).then(() => true, () => false) : true;
    const cur = this.#cur;
    this.#cur = null;
    // A poll still stuck in a read: close behind it rather than wait.
    const closing = cur?.handle.close().catch(() => undefined);
    if (finished) await closing;
  }

  /** The position to remember: nothing before it is still waiting to be written. */
  position(): FilePosition | null {
    const cur = this.#cur;
    if (this.#pending === 0 && cur) return { id: cur.segment.id, offset: cur.consumed, head: cur.segment.head.toString('base64') };
    const c = this.#committed;
    if (c) return { id: c.segment.id, offset: c.offset, head: c.segment.head.toString('base64') };
    return this.#o.resume;
  }

  written(segment: Segment, end: number): void {
    this.#pending--;
    this.#committed = { segment: segment as FileSegment, offset: end };
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const slow = setTimeout(
        () => this.#report(`reading log file ${this.#o.path} takes longer than ${FOLLOW_STEP_DEADLINE_MS} ms`, ErrorCodes.TARGET_TIMEOUT),
        FOLLOW_STEP_DEADLINE_MS,
      );
      this.#polling = this.#poll()
        .catch((err: Error) => {
          this.#report(`reading ${this.#o.path} failed: ${err.message}`);
          return false;
        })
        .then((more) => {
          clearTimeout(slow);
          this.#polling = null;
          this.#schedule(more ? 0 : this.#o.pollMs);
        });
    }, ms);
  }

  /** One poll; true when there is more to read right away. */
  async #poll(): Promise<boolean> {
    if (!this.#cur) {
      this.#cur = await this.#open();
      if (!this.#cur) return false;
    }
    const cur = this.#cur;
    const atPath = await identity(this.#o.path);
    const before = cur.pos;
    const atEnd = await this.#read(cur);
    if (atPath === cur.segment.id || this.#stopped) {
      cur.rotationSeen = false;
      return !atEnd && this.#o.sink.hasRoom();
    }
    // Rotated or deleted: switch once the old file is read to its end and stayed there a poll.
    if (!atEnd || cur.pos !== before || !cur.rotationSeen) {
      cur.rotationSeen = true;
      return false;
    }
    await this.#flushTail(cur);
    this.#cur = null;
    await cur.handle.close();
    this.#o.logger.info({ path: this.#o.path }, 'log file rotated: the old file is read to its end');
    return atPath !== null;
  }

  async #open(): Promise<Open | null> {
    let handle: FileHandle;
    try {
      handle = await openRegularFile(this.#o.path, 'log file');
    } catch (err) {
      // Missing (or unreadable) at the first look: when it appears, it is new, and read from its start.
      this.#firstOpen = false;
      if (err instanceof VigilError) {
        this.#report(err.message, err.code);
        return null;
      }
      const code = (err as NodeJS.ErrnoException).code;
      this.#report(code === 'ENOENT' ? `log file ${this.#o.path} does not exist (yet)` : `log file ${this.#o.path} cannot be opened: ${code}`);
      return null;
    }
    try {
      const st = await handle.stat({ bigint: true });
      const size = Number(st.size);
      const segment: FileSegment = { owner: this, id: `${st.dev}:${st.ino}`, head: await readHead(handle, size) };
      let offset = 0;
      let from = 'start';
      if (this.#firstOpen) {
        const r = this.#o.resume;
        if (r === null) {
          offset = await lastLineStart(handle, size, this.#buf);
          from = 'end';
        } else if (r.id === segment.id && r.offset <= size && sameStart(Buffer.from(r.head, 'base64'), segment.head)) {
          offset = r.offset;
          from = 'remembered position';
        }
      }
      this.#firstOpen = false;
      this.#problem = null;
      this.#o.logger.info({ path: this.#o.path, offset, from }, 'following log file');
      return { handle, segment, consumed: offset, pos: offset, skipping: null, lastSize: size, lastMtimeMs: Number(st.mtimeMs), rotationSeen: false };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Reads what is there (within the poll budget); true when it reached the end of the file. */
  async #read(o: Open): Promise<boolean> {
    const st = await o.handle.stat();
    if (st.size !== o.lastSize || st.mtimeMs !== o.lastMtimeMs) {
      if (st.size < o.consumed || !sameStart(o.segment.head, await readHead(o.handle, Math.min(st.size, o.segment.head.length)))) {
        this.#o.logger.info({ path: this.#o.path, size: st.size, offset: o.consumed }, 'log file truncated: reading it from its start');
        o.segment = { owner: this, id: o.segment.id, head: await readHead(o.handle, st.size) };
        o.consumed = o.pos = 0;
        o.skipping = null;
      } else if (o.segment.head.length < HEAD_BYTES && st.size > o.segment.head.length) {
        o.segment.head = await readHead(o.handle, st.size);
      }
      o.lastSize = st.size;
      o.lastMtimeMs = st.mtimeMs;
    }
    let budget = POLL_BUDGET;
    while (budget > 0) {
      if (!this.#o.sink.hasRoom()) return false;
      const { bytesRead: n } = await o.handle.read(this.#buf, 0, CHUNK, o.pos);
      if (n === 0) return true;
      budget -= n;
      const outcome = this.#lines(o, n);
      if (outcome === 'full') return false;
      // Only a partial last line is left: read again once it is complete.
      if (outcome === 'partial') return true;
    }
    return false;
  }

  /** Hands on the complete lines of buf[0, n), read at o.pos. */
  #lines(o: Open, n: number): 'full' | 'partial' | 'progress' {
    const buf = this.#buf;
    const at = Date.now();
    let start = 0;
    let nl = buf.indexOf(LF);
    if (nl >= n) nl = -1;
    if (o.skipping) {
      const s = o.skipping;
      if (nl < 0) {
        s.cut += n;
        s.lastWasCR = buf[n - 1] === CR;
        o.pos += n;
        return 'progress';
      }
      const crBefore = nl > 0 ? buf[nl - 1] === CR : s.lastWasCR;
      s.cut += nl - (crBefore ? 1 : 0);
      o.skipping = null;
      this.#deliver(o, s.text, s.cut, at, o.pos + nl + 1);
      start = nl + 1;
      nl = next(buf, start, n);
    }
    while (nl >= 0) {
      if (!this.#o.sink.hasRoom()) {
        o.pos = o.consumed;
        return 'full';
      }
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      this.#deliver(o, buf.toString('utf8', start, end), 0, at, o.pos + nl + 1);
      start = nl + 1;
      nl = next(buf, start, n);
    }
    if (start === 0 && n === CHUNK) {
      // A line longer than CHUNK: keep its start, count the rest until its newline.
      const kept = utf8Boundary(buf, 0, n);
      o.skipping = { text: buf.toString('utf8', 0, kept), cut: n - kept, lastWasCR: buf[n - 1] === CR };
      o.pos += n;
      return 'progress';
    }
    const outcome = start === 0 ? 'partial' : 'progress';
    o.pos = o.consumed;
    return outcome;
  }

  #deliver(o: Open, text: string, cut: number, at: number, end: number): void {
    if (this.#pending === 0) this.#committed = { segment: o.segment, offset: o.consumed };
    if (this.#o.sink.line(text, cut, at, o.segment, end)) this.#pending++;
    o.consumed = end;
  }

  /** The old file of a rotation ends without a newline: that last line is still a line. */
  async #flushTail(o: Open): Promise<void> {
    const size = (await o.handle.stat()).size;
    if (o.skipping) {
      this.#deliver(o, o.skipping.text, o.skipping.cut + Math.max(0, size - o.pos), Date.now(), size);
      o.skipping = null;
      return;
    }
    if (size <= o.consumed) return;
    const { bytesRead } = await o.handle.read(this.#buf, 0, Math.min(CHUNK, size - o.consumed), o.consumed);
    const kept = bytesRead < size - o.consumed ? utf8Boundary(this.#buf, 0, bytesRead) : bytesRead;
    this.#deliver(o, this.#buf.toString('utf8', 0, kept), size - o.consumed - kept, Date.now(), size);
  }

  /** Logged once per spell, not at every poll. */
  #report(problem: string, code?: ErrorCode): void {
    if (this.#problem === problem) return;
    this.#problem = problem;
    this.#o.logger.warn(code === undefined ? { path: this.#o.path } : { code, path: this.#o.path }, problem);
    // A file that will never be read is worth a line in the server's own log too.
    if (code !== undefined) this.#o.onProblem?.(`${problem} (${code})`);
  }
}

function next(buf: Buffer, from: number, n: number): number {
  const nl = buf.indexOf(LF, from);
  return nl >= 0 && nl < n ? nl : -1;
}

async function identity(path: string): Promise<string | null> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

async function readHead(handle: FileHandle, size: number): Promise<Buffer> {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
  if (head.length === 0) return head;
  const { bytesRead } = await handle.read(head, 0, head.length, 0);
  return head.subarray(0, bytesRead);
}

/** True when one of the two is a prefix of the other (a head grows as a short file does). */
function sameStart(a: Buffer, b: Buffer): boolean {
  const n = Math.min(a.length, b.length);
  return a.subarray(0, n).equals(b.subarray(0, n));
}

/** Where "from the end" starts: after the last newline, so a line being written is read whole. */
async function lastLineStart(handle: FileHandle, size: number, buf: Buffer): Promise<number> {
  if (size === 0) return 0;
  const from = Math.max(0, size - buf.length);
  const { bytesRead } = await handle.read(buf, 0, size - from, from);
  const nl = buf.subarray(0, bytesRead).lastIndexOf(LF);
  return nl < 0 ? (from === 0 ? 0 : size) : from + nl + 1;
}
