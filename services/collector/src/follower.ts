// What a log follower is: something that reads lines from one place (a file, a child's stdout or
// stderr) and hands each one, whole and without its newline, to a LineSink. Implementations sit
// beside this file: follower-file.ts and follower-stdio.ts.

export type LineStream = 'stdout' | 'stderr' | 'file';

/** Longest raw line kept; the rest of a longer line is counted (as cut bytes), never stored. */
export const MAX_LINE_BYTES = 64 * 1024;

/** A file follower, told when one of its lines reached Redis, so it remembers only those positions. */
export interface LineOwner {
  written(segment: Segment, end: number): void;
}

/** Which file (and which incarnation of it) a line was read from; shared by its lines. */
export type Segment = { owner: LineOwner };

export interface LineSink {
  /** False while the log buffer is full: a follower that can wait (a file) stops reading. */
  hasRoom(): boolean;
  /**
   * One line. `cut` bytes of it were not kept (it was longer than MAX_LINE_BYTES); `at` is when it
   * was read (epoch ms). A file line names its segment and where it ends in the file. True when
   * the line was buffered for writing, false when it was dropped (and counted).
   */
  line(text: string, cut: number, at: number, segment?: Segment, end?: number): boolean;
}

export interface Follower {
  start(): void;
  /** Stops reading and releases everything it holds (fds, timers); resolves when done. */
  stop(): Promise<void>;
}

/**
 * The largest e' ≤ end such that buf[start, e') does not end inside a UTF-8 character, so that a
 * line cut there decodes without a replacement character.
 */
export function utf8Boundary(buf: Uint8Array, start: number, end: number): number {
  let p = end - 1;
  let continuation = 0;
  while (p >= start && continuation < 3 && (buf[p]! & 0xc0) === 0x80) {
    p--;
    continuation++;
  }
  if (p < start) return end;
  const lead = buf[p]!;
  const length = lead < 0xc0 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  return p + length > end ? p : end;
}
