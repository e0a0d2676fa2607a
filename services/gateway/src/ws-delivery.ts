// How broadcasts reach /ws clients. A /ws client is a member of the namespace adapter's rooms
// under its own id, so the sharded Redis adapter counts it: the gateway SSUBSCRIBEs to a room's
// channel when the room gets its first member (either transport) and unsubscribes when it
// empties. Every broadcast the adapter delivers on this gateway (from Redis, or emitted here)
// goes through its `_encode` and then its `apply`, synchronously; Socket.IO skips ids that are
// not its sockets, and this hook sends the same event to the /ws members of the rooms: encoded
// once per message, the same buffer written to each, each member once even when it is in
// several of the rooms (as Socket.IO does).
import type { Namespace } from 'socket.io';

type Room = string;
type BroadcastOptions = { rooms: Set<Room>; except?: Set<Room> };
type Packet = { type: number; data?: unknown };
type AdapterInternals = {
  rooms: Map<Room, Set<string>>;
  _encode(packet: Packet, packetOpts: unknown): unknown;
  apply(opts: BroadcastOptions, callback: (socket: unknown) => void): void;
};

/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

/** What the delivery needs of a /ws client. */
export type WsMember = {
  readonly id: string;
  /**
   * Sends a pre-encoded `{ event, data }` message (and tells its outgoing watchers): `wire` is the
   * whole WebSocket frame, header included, to write to its socket as is; `payload` the JSON alone.
   */
  deliver(wire: Buffer, payload: Buffer, event: string, data: unknown): void;
};

/**
 * A complete server-to-client text frame around `payload` (RFC 6455 section 5.2: FIN, opcode 1,
 * unmasked, with the 7-, 16- or 64-bit length). Built once per message and written as it is to
 * every member's socket: one buffer, one write, no per-client framing.
 */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (head === 2) {
    frame[1] = n;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head);
  return frame;
}

export class WsDelivery<M extends WsMember> {
  readonly #members = new Map<string, M>();
  readonly #adapter: AdapterInternals;

  constructor(nsp: Namespace) {
    const adapter = nsp.adapter as unknown as AdapterInternals;
    this.#adapter = adapter;
    const encode = adapter._encode.bind(adapter);
    const apply = adapter.apply.bind(adapter);
    let broadcasting: Packet | null = null;
    adapter._encode = (packet, packetOpts) => {
      const encoded = encode(packet, packetOpts);
      broadcasting = packet;
      return encoded;
    };
    adapter.apply = (opts, callback) => {
      const packet = broadcasting;
      broadcasting = null;
      apply(opts, callback);
      if (packet && this.#members.size > 0) this.#deliver(packet, opts);
    };
  }

  get size(): number {
    return this.#members.size;
  }

  values(): IterableIterator<M> {
    return this.#members.values();
  }

  add(member: M): void {
    this.#members.set(member.id, member);
  }

  delete(member: M): void {
    this.#members.delete(member.id);
  }

  #deliver(packet: Packet, opts: BroadcastOptions): void {
    if (packet.type !== EVENT || !Array.isArray(packet.data) || typeof packet.data[0] !== 'string') return;
    const event = packet.data[0] as string;
    const data: unknown = packet.data[1];
    const except = this.#except(opts.except);
    const many = opts.rooms.size > 1;
    const sent = many ? new Set<string>() : null;
    let payload: Buffer | null = null;
    let wire: Buffer | null = null;
    const send = (member: M) => {
      if (except?.has(member.id) || sent?.has(member.id)) return;
      sent?.add(member.id);
      if (payload === null) {
        payload = Buffer.from(JSON.stringify({ event, data }));
        wire = textFrame(payload);
      }
      member.deliver(wire!, payload, event, data);
    };
    if (opts.rooms.size === 0) {
      for (const member of this.#members.values()) send(member);
    } else {
      for (const room of opts.rooms) {
        const ids = this.#adapter.rooms.get(room);
        if (!ids) continue;
        for (const id of ids) {
          const member = this.#members.get(id);
          if (member) send(member);
        }
      }
    }
  }

  #except(rooms: Set<Room> | undefined): Set<string> | null {
    if (!rooms || rooms.size === 0) return null;
    const ids = new Set<string>();
    for (const room of rooms) for (const id of this.#adapter.rooms.get(room) ?? []) ids.add(id);
    return ids;
  }
}
