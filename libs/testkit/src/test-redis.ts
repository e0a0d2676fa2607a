// One Redis for a test, of either kind: a single redis-server, or a three-master Redis Cluster.
// A suite that must hold on both runs once per kind (`for (const kind of REDIS_KINDS)`) and hands
// `url` and `clusterNodes` to the code under test the way an operator would configure it.
import { startRedis, type RedisProcess } from './redis-process.js';
import { startRedisCluster, type RedisCluster } from './redis-cluster.js';

export type RedisKind = 'single' | 'cluster';
export const REDIS_KINDS: readonly RedisKind[] = ['single', 'cluster'];

export type TestRedis = {
  readonly kind: RedisKind;
  /** The URL: on a cluster it gives only the scheme and credentials (its host is a seed node). */
  readonly url: string;
  /** `VIGIL_REDIS_CLUSTER_NODES` for a cluster; undefined for a single node. */
  readonly clusterNodes: string | undefined;
  /** The single node, or null on a cluster. */
  readonly single: RedisProcess | null;
  /** The cluster, or null on a single node. */
  readonly cluster: RedisCluster | null;
  close(): Promise<void>;
};

export async function startTestRedis(kind: RedisKind): Promise<TestRedis> {
  if (kind === 'single') {
    const single = await startRedis();
    return { kind, url: single.url, clusterNodes: undefined, single, cluster: null, close: () => single.close() };
  }
  const cluster = await startRedisCluster();
  return { kind, url: `redis://${cluster.nodes[0]!.address}`, clusterNodes: cluster.seeds, single: null, cluster, close: () => cluster.close() };
}
