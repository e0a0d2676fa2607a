// The wire format of @socket.io/redis-adapter's sharded adapter (createShardedAdapter, dynamic
// subscription mode), spoken by collectors so that they can broadcast to gateways' rooms
// without a Socket.IO server of their own. The stock emitter only speaks the classic adapter.
//
// A BROADCAST (type 3) for one room travels on `<prefix>#<nsp>#<room>#`; gateways subscribe to
// that channel only while they have a client in the room. The message is JSON (first byte `{`)
// whenever it holds no binary. Integration tests prove this against the real adapter, so an
// upgrade that changes the format fails loudly.
import { ADAPTER_CHANNEL_PREFIX } from '@vigil/protocol';

const MESSAGE_TYPE_BROADCAST = 3;
const PACKET_TYPE_EVENT = 2;

/** The room a dynamic channel carries (`<prefix>#<nsp>#<room>#`), or '' for other channels. */
export function roomOfChannel(channel: string): string {
  const start = channel.indexOf('#', channel.indexOf('#') + 1) + 1;
  const end = channel.length - 1;
  return start > 0 && end > start && channel[end] === '#' ? channel.slice(start, end) : '';
}

const POSITION_MARK = Buffer.from('"position":"', 'latin1');
const QUOTE = 0x22;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Offset of the first character of the last position in a frame, or -1. A backward scan in
 * JavaScript: the position sits a few dozen bytes from the end, and Buffer#lastIndexOf with a
 * multi-byte needle costs about a microsecond whatever the distance (once per Redis message).
 */
function positionStart(frame: Buffer): number {
  const mark = POSITION_MARK;
  const last = mark.length - 1;
  for (let end = frame.length - 1; end >= last; end--) {
    if (frame[end] !== mark[last]) continue;
    let k = 1;
    while (k <= last && frame[end - k] === mark[last - k]) k++;
    if (k > last) return end + 1;
  }
  return -1;
}

/**
 * The position of the event in a raw broadcast frame, read without parsing the JSON: it is the
 * last `"position":"` of the frame, as BatchWriter's script writes it. Null when there is none.
 */
export function positionInFrame(frame: Buffer): string | null {
  const from = positionStart(frame);
  if (from < 0) return null;
  const end = frame.indexOf(QUOTE, from);
  return end < 0 ? null : frame.toString('latin1', from, end);
}

/**
 * The milliseconds part of the frame's position (`<ms>-<seq>`), read from its bytes without making
 * a string: what the gateway needs per Redis message for its lag metric. Null when there is no
 * position, or it does not start with digits.
 */
export function positionMsInFrame(frame: Buffer): number | null {
  const from = positionStart(frame);
  if (from < 0) return null;
  let ms = 0;
  let i = from;
  // 16 digits are beyond any epoch millisecond count; a longer run is not a position.
  for (; i < frame.length && i - from < 16; i++) {
    const c = frame[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    ms = ms * 10 + (c - DIGIT_0);
  }
  return i === from ? null : ms;
}

export function adapterChannel(nsp: string, room: string, prefix = ADAPTER_CHANNEL_PREFIX): string {
  return `${prefix}#${nsp}#${room}#`;
}

/**
 * What a broadcast frame shares with every frame of the same sender, namespace, event and channel
 * prefix: all but the room. A frame's channel is `channelHead + fill + channelTail` and its prefix
 * `prefixHead + fill + prefixTail`, where `fill` is the frame's own part (its room), so a writer
 * can send the shared parts once per batch and only the room per event.
 */
export type FrameTemplate = { channelHead: string; channelTail: string; prefixHead: string; prefixTail: string; suffix: string };

/** A broadcast message split around its event payload: `prefix + payloadJson + suffix`. */
export type BroadcastFrame = { channel: string; prefix: string; suffix: string; template: FrameTemplate; fill: string };

/** Templates are shared (writers group events by template identity); a few per process in practice, bounded anyway. */
const TEMPLATES_MAX = 256;
const templates = new Map<string, FrameTemplate>();

function frameTemplate(uid: string, nsp: string, event: string, prefix: string): FrameTemplate {
  const cacheKey = JSON.stringify([uid, nsp, event, prefix]);
  const cached = templates.get(cacheKey);
  if (cached) return cached;
  const roomMark = '\u0000ROOM\u0000';
  const payloadMark = '\u0000PAYLOAD\u0000';
  const message = {
    uid,
    nsp,
    type: MESSAGE_TYPE_BROADCAST,
    data: {
      opts: { rooms: [roomMark], except: [], flags: {} },
      packet: { type: PACKET_TYPE_EVENT, data: [event, payloadMark], nsp },
    },
  };
  const json = JSON.stringify(message);
  const room = JSON.stringify(roomMark);
  const payload = JSON.stringify(payloadMark);
  const roomAt = json.indexOf(room);
  const payloadAt = json.indexOf(payload);
  // The room's quotes belong to the template: a room needing no escaping is the same inside them.
  const template: FrameTemplate = {
    channelHead: adapterChannel(nsp, '', prefix).slice(0, -1),
    channelTail: '#',
    prefixHead: json.slice(0, roomAt + 1),
    prefixTail: json.slice(roomAt + room.length - 1, payloadAt),
    suffix: json.slice(payloadAt + payload.length),
  };
  if (templates.size < TEMPLATES_MAX) templates.set(cacheKey, template);
  return template;
}

export function broadcastFrame(
  uid: string,
  nsp: string,
  room: string,
  event: string,
  prefix = ADAPTER_CHANNEL_PREFIX,
): BroadcastFrame {
  const t = frameTemplate(uid, nsp, event, prefix);
  if (JSON.stringify(room) === `"${room}"`) {
    return { channel: t.channelHead + room + t.channelTail, prefix: t.prefixHead + room + t.prefixTail, suffix: t.suffix, template: t, fill: room };
  }
  // A room JSON must escape has a template of its own, with nothing to fill in.
  const channel = adapterChannel(nsp, room, prefix);
  const head = t.prefixHead.slice(0, -1) + JSON.stringify(room) + t.prefixTail.slice(1);
  const own: FrameTemplate = { channelHead: channel, channelTail: '', prefixHead: head, prefixTail: '', suffix: t.suffix };
  return { channel, prefix: head, suffix: t.suffix, template: own, fill: '' };
}
