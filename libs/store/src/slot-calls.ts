// Reads and writes over many keys that stay within one slot per call on a Redis Cluster, and stay
// one call on a single node.
import type { Redis } from 'ioredis';
import { isCluster } from './connection.js';
import { keySlot } from './key-slot.js';

/** Indexes of `keys` grouped by slot, in their order. */
export function bySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    let g = groups.get(slot);
    if (!g) groups.set(slot, (g = []));
    g.push(i);
  });
  return [...groups.values()];
}

/** GET of every key, in order: one MGET on a single node, one MGET per slot on a cluster (all sent at once). */
export async function getMany(redis: Redis, keys: readonly string[]): Promise<Array<string | null>> {
  if (keys.length === 0) return [];
  if (!isCluster(redis)) return redis.mget(...keys);
  const out = new Array<string | null>(keys.length).fill(null);
  await Promise.all(
    bySlot(keys).map(async (indexes) => {
      const values = await redis.mget(...indexes.map((i) => keys[i]!));
      indexes.forEach((i, k) => (out[i] = values[k] ?? null));
    }),
  );
  return out;
}
