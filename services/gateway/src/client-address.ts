// The address a request comes from, for per-address limits (REST rate limit, connection caps).
// Behind a balancer every request arrives from the balancer: X-Forwarded-For is read only when
// the operator says which hops to trust (VIGIL_TRUST_PROXY), walking it from the right as
// proxy-addr does, so a client cannot choose its own address by sending the header itself.
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** `false`: the socket's peer; `true`: every hop; a number: that many hops; a list: those addresses or CIDR ranges. */
export type TrustProxy = boolean | number | string[];

/** Whether the hop at `index` (0 = the socket's peer) at `address` is a proxy we trust. */
export type TrustFunction = (address: string, index: number) => boolean;

const MAX_VERDICTS = 10_000;

export function trustFunction(trust: TrustProxy): TrustFunction {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, index) => index < trust;
  const list = new BlockList();
  for (const entry of trust) {
    const [ip, bits] = entry.split('/');
    const family = isIP(ip ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip!, family);
    else list.addSubnet(ip!, Number(bits), family);
  }
  // Every request asks about its hops, mostly the same few proxies: a verdict is computed once
  // (BlockList.check builds a SocketAddress each time). Bounded, since hops come from headers.
  const verdicts = new Map<string, boolean>();
  return (address) => {
    let verdict = verdicts.get(address);
    if (verdict === undefined) {
      const bare = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(bare);
      verdict = family !== 0 && list.check(bare, family === 6 ? 'ipv6' : 'ipv4');
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
      verdicts.set(address, verdict);
    }
    return verdict;
  };
}

/** Checks a trust-proxy list entry: an IP address or CIDR range. */
export function isAddressOrRange(entry: string): boolean {
  const [ip, bits, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 6 ? 128 : 32) && /^\d+$/.test(bits);
}

/** The client's address: the first hop, from the socket inwards, that is not a trusted proxy. */
export function clientAddress(req: IncomingMessage, trust: TrustFunction): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trust(peer, 0)) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : header ?? '').split(',');
  let address = peer;
  for (let i = forwarded.length - 1, hop = 1; i >= 0; i--, hop++) {
    const next = forwarded[i]!.trim();
    if (next === '') continue;
    // Not an address: no proxy wrote it, so it is the client's own text (with every hop trusted,
    // up to the header's 16 KiB as a key of the per-address maps). The hop before it stands.
    if (isIP(next) === 0) break;
    address = next;
    if (!trust(address, hop)) break;
  }
  return address;
}
