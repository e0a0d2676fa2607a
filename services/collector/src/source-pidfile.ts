// A target named by a pidfile, read again at every due tick. A missing or garbled file means "no
// process": logged once per spell (TARGET_UNRESOLVED), never a crash. Only a regular file is read
// (regular-file.ts): a FIFO, device, socket or directory is FILE_NOT_REGULAR, with its code in the
// server's exit reason.
import type { Logger } from 'pino';
import { ErrorCodes, VigilError, type ErrorCode } from '@vigil/protocol';
import { openRegularFile } from './regular-file.js';
import type { Resolution, Source } from './source.js';

// A pidfile holds a decimal pid and maybe a newline; anything longer is not a pidfile.
const MAX_BYTES = 64;
const PID_MAX = 4_194_304;

export class PidfileSource implements Source {
  readonly #targetId: string;
  readonly #path: string;
  readonly #logger: Logger;
  #lastProblem: string | null = null;

  constructor(targetId: string, path: string, logger: Logger) {
    this.#targetId = targetId;
    this.#path = path;
    this.#logger = logger;
  }

  async resolve(): Promise<Resolution> {
    let text: string;
    let mtimeMs: number;
    try {
      const file = await openRegularFile(this.#path, 'pidfile');
      try {
        mtimeMs = (await file.stat()).mtimeMs;
        const buf = Buffer.alloc(MAX_BYTES + 1);
        const { bytesRead } = await file.read(buf, 0, buf.length, 0);
        text = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await file.close();
      }
    } catch (err) {
      if (err instanceof VigilError) return this.#unresolved(`${err.message} (${err.code})`, err.code);
      return this.#unresolved(`pidfile ${this.#path} unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const trimmed = text.trim();
    const pid = /^\d{1,7}$/.test(trimmed) ? Number(trimmed) : NaN;
    if (text.length > MAX_BYTES || !(pid >= 1 && pid <= PID_MAX)) {
      return this.#unresolved(`pidfile ${this.#path} does not hold a pid`);
    }
    if (this.#lastProblem !== null) {
      this.#logger.info({ targetId: this.#targetId, pid }, 'pidfile resolves again');
      this.#lastProblem = null;
    }
    return { pids: [pid], pidfileMtimeMs: mtimeMs };
  }

  #unresolved(reason: string, code: ErrorCode = ErrorCodes.TARGET_UNRESOLVED): Resolution {
    if (this.#lastProblem !== reason) {
      this.#logger.warn({ code, targetId: this.#targetId }, reason);
      this.#lastProblem = reason;
    }
    return { pids: [], unresolved: reason };
  }
}
