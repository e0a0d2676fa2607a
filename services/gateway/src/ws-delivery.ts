// How broadcasts reach /ws clients. A /ws client is a member of the namespace adapter's rooms
// under its own id, so the sharded Redis adapter counts it: the gateway SSUBSCRIBEs to a room's
// channel when the room gets its first member (either transport) and unsubscribes when it
// empties. Every broadcast the adapter delivers on this gateway (from Redis, or emitted here)
// goes through its `_encode` and then its `apply`, synchronously; Socket.IO skips ids that are
// not its sockets, and this hook sends the same event to the /ws members of the rooms: encoded
// once per message, the same buffer written to each, each member once even when it is in
// several of the rooms (as Socket.IO does). Socket.IO's own encoding (its packet string and
// pre-built WebSocket frame) is made when the first Socket.IO socket of the rooms is reached, so
// a message whose rooms hold only /ws clients is never encoded for Socket.IO.
import type { Namespace } from 'socket.io';

type Room = string;
type BroadcastOptions = { rooms: Set<Room>; except?: Set<Room> };
type Packet = { type: number; data?: unknown };
type AdapterInternals = {
  rooms: Map<Room, Set<string>>;
  _encode(packet: Packet, packetOpts: unknown): unknown[];
  apply(opts: BroadcastOptions, callback: (socket: unknown) => void): void;
};

/** A message being delivered: its event, and its JSON and frame once the first member needs them. */
type Message = { event: string; data: unknown; payload: Buffer | null; wire: Buffer | null };

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
 * One event to several clients of this gateway, encoded once per transport: the Socket.IO ones
 * through a local broadcast to the rooms of their own ids, the /ws ones (`isWs`) as one frame
 * written to each.
 */
export function sendAlike<C extends { readonly id: string }>(nsp: Namespace, clients: readonly C[], isWs: (client: C) => client is C & WsMember, event: string, data: unknown): void {
  const sockets: string[] = [];
  let payload: Buffer | null = null;
  let wire: Buffer | null = null;
  for (const client of clients) {
    if (!isWs(client)) {
      sockets.push(client.id);
      continue;
    }
    if (wire === null) {
      payload = Buffer.from(JSON.stringify({ event, data }));
      wire = textFrame(payload);
    }
    client.deliver(wire, payload!, event, data);
  }
  if (sockets.length > 0) nsp.local.to(sockets).emit(event, data);
}

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
    // Both callers of _encode (broadcast, broadcastWithAck) call apply right after it, with a
    // callback that hands the encoded packets to each Socket.IO socket: the array _encode returns
    // is filled before that callback first runs, and stays empty when no Socket.IO socket does.
    let broadcasting: { packet: Packet; packetOpts: unknown; encoded: unknown[] } | null = null;
    adapter._encode = (packet, packetOpts) => {
      const encoded: unknown[] = [];
      broadcasting = { packet, packetOpts, encoded };
      return encoded;
    };
    adapter.apply = (opts, callback) => {
      const b = broadcasting;
      broadcasting = null;
      if (b === null) return apply(opts, callback);
      let ready = false;
      apply(opts, (socket) => {
        if (!ready) {
          ready = true;
          const packets = encode(b.packet, b.packetOpts);
          for (const p of Array.isArray(packets) ? packets : [packets]) b.encoded.push(p);
        }
        callback(socket);
      });
      if (this.#members.size > 0) this.#deliver(b.packet, opts);
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
    const except = this.#except(opts.except);
    const sent = opts.rooms.size > 1 ? new Set<string>() : null;
    const message: Message = { event: packet.data[0] as string, data: packet.data[1], payload: null, wire: null };
    if (opts.rooms.size === 0) {
      for (const member of this.#members.values()) this.#send(member, message, except, sent);
      return;
    }
    for (const room of opts.rooms) {
      const ids = this.#adapter.rooms.get(room);
      if (!ids) continue;
      for (const id of ids) {
        const member = this.#members.get(id);
        if (member) this.#send(member, message, except, sent);
      }
    }
  }

  /** One member, once per message; the message is encoded for the first member it reaches. */
  #send(member: M, m: Message, except: Set<string> | null, sent: Set<string> | null): void {
    if (except?.has(member.id) || sent?.has(member.id)) return;
    sent?.add(member.id);
    if (m.wire === null) {
      m.payload = Buffer.from(JSON.stringify({ event: m.event, data: m.data }));
      m.wire = textFrame(m.payload);
    }
    member.deliver(m.wire, m.payload!, m.event, m.data);
  }

  #except(rooms: Set<Room> | undefined): Set<string> | null {
    if (!rooms || rooms.size === 0) return null;
    const ids = new Set<string>();
    for (const room of rooms) for (const id of this.#adapter.rooms.get(room) ?? []) ids.add(id);
    return ids;
  }
}
