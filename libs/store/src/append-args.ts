// The arguments of the tick script (APPEND_AND_PUBLISH in batch-writer.ts) for a list of events:
// shared by the single-node write (batch-writer.ts) and the write by slot group on a Redis Cluster
// (cluster-writer.ts), so neither imports the other.
import { ErrorCodes, VigilError } from '@vigil/protocol';
import type { BroadcastFrame, FrameTemplate } from './adapter-wire.js';
import { ByteLines, type EventBody } from './byte-lines.js';
import { encodedArgs, type RespArgs } from './resp.js';

export type AppendOp = {
  /** Stream that keeps the history of this kind of event for one server. */
  stream: string;
  /** Approximate bound of that stream. */
  maxLen: number;
  /** Key that holds the newest event with its position, or null. */
  latestKey: string | null;
  /** The event payload as a JSON object on one line, without its position: text, or what writes it as bytes. */
  body: string | EventBody;
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
};

/** The arguments of one APPEND_AND_PUBLISH call for `appends` (checked first: a refused batch writes nothing); `mode` is its ARGV[3]. */
export function encodeAppends(appends: readonly AppendOp[], mode: '0' | '1' | '2', streams: StreamBytes): Parameters<WithAppend['vigilAppend']> {
  const keys: string[] = [];
  const events = new ByteLines(sizeOf(appends));
  const kinds = encodeEvents(appends, streams, events, (op) => keys.push(op.stream, op.latestKey ?? op.stream));
  return [keys.length, keys, [String(kinds.count), String(appends.length), mode], kinds.args, events.view()];
}

/**
 * The same arguments as encodeAppends, as RESP (resp.ts) into `args`, for EVALSHA after its sha:
 * numkeys, the keys, ARGV. `events` is scratch space for the events argument.
 */
export function appendScriptArgs(appends: readonly AppendOp[], mode: '0' | '1' | '2', streams: StreamBytes, args: RespArgs, events: ByteLines): void {
  args.string(String(appends.length * 2));
  const kinds = encodeEvents(appends, streams, events, (_op, s) => args.encoded(s.keys, 2));
  args.string(String(kinds.count));
  args.string(String(appends.length));
  args.string(mode);
  for (const a of kinds.args) args.string(a);
  args.bytes(events.view());
}

/** The bytes an append's events line and keys will about take. */
export function sizeOf(appends: readonly AppendOp[]): number {
  let n = 0;
  for (const op of appends) n += (typeof op.body === 'string' ? op.body.length : op.body.sizeHint) + op.frame.fill.length + 8;
  return n;
}

/** What never changes for one stream: its two keys as RESP, and its frame's fill as bytes. */
export type StreamEntry = { latest: string | null; frame: BroadcastFrame; keys: Buffer; fill: Buffer };

/** Each stream's entry, made once; forgotten wholesale past a bound (servers come and go). */
export class StreamBytes {
  readonly #byStream = new Map<string, StreamEntry>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  of(op: AppendOp): StreamEntry {
    const known = this.#byStream.get(op.stream);
    if (known && known.latest === op.latestKey && known.frame === op.frame) return known;
    if (op.frame.fill.indexOf('\n') >= 0) throw new VigilError(ErrorCodes.INTERNAL, 'append body and room must be on one line');
    if (this.#byStream.size >= this.#max) this.#byStream.clear();
    const entry = { latest: op.latestKey, frame: op.frame, keys: encodedArgs(op.stream, op.latestKey ?? op.stream), fill: Buffer.from(op.frame.fill) };
    this.#byStream.set(op.stream, entry);
    return entry;
  }
}

/**
 * Checks every event and writes it into `events` as three lines (its kind, its frame's fill, its
 * body; see APPEND_AND_PUBLISH), handing each to `keys` in order. A refused event throws before
 * the caller sends anything.
 */
function encodeEvents(appends: readonly AppendOp[], streams: StreamBytes, events: ByteLines, keys: (op: AppendOp, s: StreamEntry) => void): Kinds {
  const kinds = new Kinds();
  for (const op of appends) {
    const s = streams.of(op);
    // A key is always passed for the latest slot so that KEYS stays positional.
    keys(op, s);
    events.number(kinds.indexOf(op));
    events.byte(NEWLINE);
    events.bytes(s.fill);
    events.byte(NEWLINE);
    const start = events.length;
    const body = op.body;
    if (typeof body === 'string') {
      if (body.indexOf('\n') >= 0) throw new VigilError(ErrorCodes.INTERNAL, 'append body and room must be on one line');
      events.string(body);
    } else {
      body.writeTo(events);
      // The newline before the body (after the fill) must be the last one written.
      if (events.lastIndexOf(NEWLINE) !== start - 1) throw new VigilError(ErrorCodes.INTERNAL, 'append body and room must be on one line');
    }
    if (events.length - start < 2 || events.at(start) !== OPEN_BRACE || events.at(events.length - 1) !== CLOSE_BRACE) {
      throw new VigilError(ErrorCodes.INTERNAL, 'append body must be a JSON object');
    }
    events.byte(NEWLINE);
  }
  return kinds;
}

const NEWLINE = 0x0a;
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

  indexOf(op: AppendOp): number {
    const template = op.frame.template;
    const latest = op.latestKey !== null;
    const last = this.#last;
    if (last && last.template === template && last.maxLen === op.maxLen && last.latest === latest) return last.index;
    let same = this.#byTemplate.get(template);
    if (!same) this.#byTemplate.set(template, (same = []));
    let kind = same.find((k) => k.maxLen === op.maxLen && k.latest === latest);
    if (!kind) {
      kind = { template, maxLen: op.maxLen, latest, index: this.#count++ };
      same.push(kind);
      this.args.push(String(op.maxLen), latest ? '1' : '0', template.channelHead, template.channelTail, template.prefixHead, template.prefixTail, template.suffix);
    }
    this.#last = kind;
    return kind.index;
  }
}

type Kind = { template: FrameTemplate; maxLen: number; latest: boolean; index: number };
