// The Redis Cluster hash slot of a key or shard channel (CRC16/XMODEM of its hash tag, mod 16384),
// as redis-server computes it: what the writers group a batch by so that no call crosses slots.
const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  TABLE[i] = c;
}

export const SLOT_COUNT = 16384;

/** The part of a key Redis hashes: the first non-empty `{…}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

export function keySlot(key: string): number {
  const bytes = Buffer.from(hashTagOf(key), 'utf8');
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc % SLOT_COUNT;
}

/** A key name in the same slot as `channel` (a key whose hash tag is what the channel hashes by). */
export function keyInSlotOf(channel: string, name: string): string {
  return `${name}{${hashTagOf(channel)}}`;
}
