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

const POSITION_MARK = '"position":"';

/**
 * The position of the event in a raw broadcast frame, read without parsing the JSON: it is the
 * last `"position":"` of the frame, as BatchWriter's script writes it. Null when there is none.
 */
export function positionInFrame(frame: Buffer): string | null {
  const at = frame.lastIndexOf(POSITION_MARK);
  if (at < 0) return null;
  const from = at + POSITION_MARK.length;
  const end = frame.indexOf(0x22, from);
  return end < 0 ? null : frame.toString('latin1', from, end);
}

export function adapterChannel(nsp: string, room: string, prefix = ADAPTER_CHANNEL_PREFIX): string {
  return `${prefix}#${nsp}#${room}#`;
}

/** A broadcast message split around its event payload: `prefix + payloadJson + suffix`. */
export type BroadcastFrame = { channel: string; prefix: string; suffix: string };

export function broadcastFrame(
  uid: string,
  nsp: string,
  room: string,
  event: string,
  prefix = ADAPTER_CHANNEL_PREFIX,
): BroadcastFrame {
  const marker = '\u0000PAYLOAD\u0000';
  const message = {
    uid,
    nsp,
    type: MESSAGE_TYPE_BROADCAST,
    data: {
      opts: { rooms: [room], except: [], flags: {} },
      packet: { type: PACKET_TYPE_EVENT, data: [event, marker], nsp },
    },
  };
  const json = JSON.stringify(message);
  const quoted = JSON.stringify(marker);
  const at = json.indexOf(quoted);
  return {
    channel: adapterChannel(nsp, room, prefix),
    prefix: json.slice(0, at),
    suffix: json.slice(at + quoted.length),
  };
}
