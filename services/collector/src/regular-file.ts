// Opening a file the agent was told to read (a pidfile, a log file) without ever blocking: only
// regular files are read. open() of a FIFO for reading blocks until a writer appears, and a
// blocked open holds one of libuv's 4 pool threads, so it starves every other fs call of the
// agent; O_NONBLOCK makes it return at once, and fstat on the opened fd then says what it is
// (a device such as /dev/zero would be read forever, a directory cannot be read at all).
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ErrorCodes, VigilError } from '@vigil/protocol';

// O_NONBLOCK has no effect on regular files, so reads behave as before; O_NOCTTY keeps a
// terminal device from becoming the agent's controlling terminal before fstat rejects it.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What a non-regular file is, in words an operator recognizes. */
function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notRegular(what: string, path: string, kind: string): VigilError {
  return new VigilError(ErrorCodes.FILE_NOT_REGULAR, `${what} ${path} is ${kind}, not a regular file: not read`);
}

/**
 * Opens `path` for reading if it is a regular file. Anything else is a VigilError with code
 * FILE_NOT_REGULAR; a failed open is the usual errno error. `what` names the file in messages.
 */
export async function openRegularFile(path: string, what: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    // A Unix socket cannot be opened at all (ENXIO): say what it is rather than the errno.
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
      const st = await stat(path).catch(() => null);
      if (st && !st.isFile()) throw notRegular(what, path, kindOf(st));
    }
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(what, path, kindOf(st));
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
