// Where each followed file was read up to, remembered across agent restarts in one small JSON file
// per collector (`<stateDir>/positions.json`). Written atomically (a temporary file renamed over
// it), only when something changed, and never two writes at once. A missing or garbled file means
// "nothing remembered": files are then followed from their end, as at a first start.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { InOrder } from '@vigil/protocol/runtime';
import type { FilePosition } from './follower-file.js';

const VERSION = 1;
const FILE = 'positions.json';

/** targetId → path → position. */
export type Positions = Record<string, Record<string, FilePosition>>;

export class PositionStore {
  readonly #path: string;
  readonly #logger: Logger;
  readonly #loaded: Positions;
  #lastSaved: string;
  readonly #writes = new InOrder();
  #failing = false;

  private constructor(path: string, loaded: Positions, logger: Logger) {
    this.#path = path;
    this.#loaded = loaded;
    this.#logger = logger;
    this.#lastSaved = JSON.stringify({ version: VERSION, files: loaded });
  }

  static async open(dir: string, logger: Logger): Promise<PositionStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, FILE);
    let loaded: Positions = {};
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { version?: unknown; files?: unknown };
      if (parsed.version === VERSION && isPositions(parsed.files)) loaded = parsed.files;
      else logger.warn({ path }, 'log positions file not understood: following files from their end');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        logger.warn({ path, err: (err as Error).message }, 'log positions file unreadable: following files from their end');
      }
    }
    return new PositionStore(path, loaded, logger);
  }

  remembered(targetId: string, file: string): FilePosition | null {
    return this.#loaded[targetId]?.[file] ?? null;
  }

  /** Saves `positions` unless they are what was saved last; resolves when written (never throws). */
  save(positions: Positions): Promise<void> {
    const text = JSON.stringify({ version: VERSION, files: positions });
    if (text === this.#lastSaved) return this.#writes.idle();
    this.#lastSaved = text;
    return this.#writes.run(() => this.#write(text));
  }

  async #write(text: string): Promise<void> {
    const tmp = `${this.#path}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.#path);
      if (this.#failing) this.#logger.info({ path: this.#path }, 'log positions saved again');
      this.#failing = false;
    } catch (err) {
      // Remembered positions are a convenience: failing to save costs re-reading, not the agent.
      if (!this.#failing) this.#logger.warn({ path: this.#path, err: (err as Error).message }, 'cannot save log positions');
      this.#failing = true;
      this.#lastSaved = '';
    }
  }
}

function isPositions(value: unknown): value is Positions {
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).every(
    (files) =>
      typeof files === 'object' &&
      files !== null &&
      Object.values(files).every(
        (p: unknown) =>
          typeof p === 'object' &&
          p !== null &&
          typeof (p as FilePosition).id === 'string' &&
          Number.isSafeInteger((p as FilePosition).offset) &&
          (p as FilePosition).offset >= 0 &&
          typeof (p as FilePosition).head === 'string',
      ),
  );
}
