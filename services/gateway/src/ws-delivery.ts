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
  /** Sends a pre-encoded `{ event, data }` text frame (and tells its outgoing watchers). */
  deliver(frame: Buffer, event: string, data: unknown): void;
};

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
    let frame: Buffer | null = null;
    const send = (member: M) => {
      if (except?.has(member.id) || sent?.has(member.id)) return;
      sent?.add(member.id);
      frame ??= Buffer.from(JSON.stringify({ event, data }));
      member.deliver(frame, event, data);
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
