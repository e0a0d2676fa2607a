// The arguments of the tick script (APPEND_AND_PUBLISH in batch-writer.ts) for a list of events:
// shared by the single-node write (batch-writer.ts) and the write by slot group on a Redis Cluster
// (cluster-writer.ts), so neither imports the other.
import { ErrorCodes, VigilError } from '@vigil/protocol';
import type { BroadcastFrame, FrameTemplate } from './adapter-wire.js';

export type AppendOp = {
  /** Stream that keeps the history of this kind of event for one server. */
  stream: string;
  /** Approximate bound of that stream. */
  maxLen: number;
  /** Key that holds the newest event with its position, or null. */
  latestKey: string | null;
  /** The event payload as a JSON object, without its position. */
  body: string;
  frame: BroadcastFrame;
};

/** What one BatchWriter.write puts into Redis; any part may be empty. */
export type Batch = {
  appends: AppendOp[];
  registry: Array<{ serverId: string; entry: string }>;
  heartbeats: Array<{ serverId: string; at: number }>;
};

/** ioredis flattens array arguments once, into the command: no copies of a tick's thousands of arguments on the way. */
export type WithAppend = {
  vigilAppend(numKeys: number, keys: string[], counts: string[], kinds: string[], events: Buffer): Promise<string[] | number>;
  vigilHeartbeats(numKeys: 1, key: string, scoresAndMembers: string[]): Promise<number>;
};

/** The arguments of one APPEND_AND_PUBLISH call for `appends` (checked first: a refused batch writes nothing); `mode` is its ARGV[3]. */
export function encodeAppends(appends: readonly AppendOp[], mode: '0' | '1' | '2'): Parameters<WithAppend['vigilAppend']> {
  const keys: string[] = [];
  const kinds = new Kinds();
  let chars = 0;
  for (const op of appends) chars += op.body.length + op.frame.fill.length + 6;
  const events = new EventLines(chars);
  for (const op of appends) {
    const body = op.body;
    if (body.charCodeAt(0) !== OPEN_BRACE || body.charCodeAt(body.length - 1) !== CLOSE_BRACE) {
      throw new VigilError(ErrorCodes.INTERNAL, 'append body must be a JSON object');
    }
    if (body.indexOf('\n') >= 0 || op.frame.fill.indexOf('\n') >= 0) {
      throw new VigilError(ErrorCodes.INTERNAL, 'append body and room must be on one line');
    }
    // A key is always passed for the latest slot so that KEYS stays positional.
    keys.push(op.stream, op.latestKey ?? op.stream);
    events.add(kinds.indexOf(op) + '\n' + op.frame.fill + '\n' + body + '\n');
  }
  const counts = [String(kinds.count), String(appends.length), mode];
  return [keys.length, keys, counts, kinds.args, events.bytes()];
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The kinds of event in one batch: what events share (bound, latest slot, frame template), sent
 * once; each event then carries only its kind's index. Events come in runs of one kind, so the
 * last one is checked first.
 */
class Kinds {
  readonly args: string[] = [];
  readonly #byTemplate = new Map<FrameTemplate, Kind[]>();
  #count = 0;
  #last: Kind | null = null;

  get count(): number {
    return this.#count;
  }

  indexOf(op: AppendOp): string {
    const template = op.frame.template;
    const latest = op.latestKey !== null;
    const last = this.#last;
    if (last && last.template === template && last.maxLen === op.maxLen && last.latest === latest) return last.index;
    let same = this.#byTemplate.get(template);
    if (!same) this.#byTemplate.set(template, (same = []));
    let kind = same.find((k) => k.maxLen === op.maxLen && k.latest === latest);
    if (!kind) {
      kind = { template, maxLen: op.maxLen, latest, index: String(this.#count++) };
      same.push(kind);
      this.args.push(String(op.maxLen), latest ? '1' : '0', template.channelHead, template.channelTail, template.prefixHead, template.prefixTail, template.suffix);
    }
    this.#last = kind;
    return kind.index;
  }
}

type Kind = { template: FrameTemplate; maxLen: number; latest: boolean; index: string };

/**
 * The events argument, written line by line into one Buffer. Joined into one string instead, a
 * tick's few hundred KB became a string of their own, then part of the bigger one ioredis makes of
 * the whole command, each on fresh pages, copied and UTF-8-encoded again on the way to the socket:
 * that was the largest part of a tick's cost. As bytes, ioredis copies them as they are.
 */
class EventLines {
  #buf: Buffer;
  #at = 0;

  /** `chars`: the length of every line together (the size when all is ASCII; it grows otherwise). */
  constructor(chars: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(chars, 64));
  }

  add(line: string): void {
    const room = this.#buf.length - this.#at;
    // A UTF-16 unit takes at most 3 bytes; measured exactly only near the end.
    if (room < line.length * 3) {
      const bytes = Buffer.byteLength(line);
      if (room < bytes) {
        const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + bytes));
        this.#buf.copy(bigger, 0, 0, this.#at);
        this.#buf = bigger;
      }
    }
    this.#at += this.#buf.write(line, this.#at);
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}
