// A private Redis Cluster on loopback: three masters and three replicas (`redis-server
// --cluster-enabled yes`, joined by `redis-cli --cluster create`), owned by the test that started
// it: `close()` stops every node and removes their directories. `killMaster()` takes one master
// down at once (SIGKILL), so a test can watch its replica take over.
import { execFile } from 'node:child_process';
import { freePort } from '../../../scripts/lib/ports.mjs';
import { waitFor } from '../../../scripts/lib/wait.mjs';
import { startRedis, type RedisProcess } from './redis-process.js';

export type StartClusterOptions = {
  /** Masters (default 3), each with `replicasPerMaster` replicas (default 1). */
  masters?: number;
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how long a master is unreachable before its replica takes over (default 1000). */
  nodeTimeoutMs?: number;
  /** AUTH for `command()`, `redis-cli --cluster create` and the URL (an ACL user that may do everything). */
  user?: string;
  password?: string;
  /** More `redis-server` arguments for every node (an `--aclfile`, and `--masteruser`/`--masterauth` then). */
  args?: string[];
};

export type ClusterNode = RedisProcess & { readonly address: string };

export type RedisCluster = {
  readonly nodes: readonly ClusterNode[];
  /** Seed nodes as `VIGIL_REDIS_CLUSTER_NODES` takes them: `127.0.0.1:p1,127.0.0.1:p2,…`. */
  readonly seeds: string;
  /** The nodes that are masters now (they change after a failover). */
  masters(): Promise<ClusterNode[]>;
  /** The node that serves `slot` now (as the cluster says; the one a client is sent to). */
  masterOfSlot(slot: number): Promise<ClusterNode>;
  /**
   * Kills a master (the one serving `slot`, default the one serving slot 0) with SIGKILL and waits
   * until a replica has taken over its slots and the cluster says `ok` again. Resolves with the
   * dead node (it can be started again: it rejoins as a replica).
   */
  killMaster(slot?: number): Promise<ClusterNode>;
  /** Resolves when every live node says `cluster_state:ok` and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

const REDIS_CLI = process.env.VIGIL_REDIS_CLI ?? 'redis-cli';

function run(bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.slice(0, 2).join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`.trim()));
      else resolve(stdout);
    });
  });
}

type NodeLine = { id: string; address: string; flags: string[]; master: string; slots: Array<[number, number]> };

/** Parses `CLUSTER NODES` (a bulk string: one node a line). */
function parseNodes(reply: string): NodeLine[] {
  const body = reply.startsWith('$') ? reply.slice(reply.indexOf('\r\n') + 2) : reply;
  const out: NodeLine[] = [];
  for (const line of body.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const slots: Array<[number, number]> = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue; // a slot being migrated
      const [a, b] = s.split('-');
      slots.push([Number(a), Number(b ?? a)]);
    }
    out.push({ id: f[0]!, address: f[1]!.split('@')[0]!, flags: f[2]!.split(','), master: f[3]!, slots });
  }
  return out;
}

/** Starts on freshly chosen ports tried again a few times: a port found free can be taken by another test's process before redis-server binds it. */
async function withFreshPorts<T>(start: (busPort: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}
const PORT_ATTEMPTS = 5;

export async function startRedisCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const total = masterCount * (1 + replicas);
  const nodeTimeout = options.nodeTimeoutMs ?? 1000;
  const nodes: ClusterNode[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    // Each node is owned as soon as it runs, and every start is waited for (settled, not the first
    // rejection): when one fails to start, close() stops all the others, the late ones included.
    const starts = await Promise.allSettled(
      Array.from({ length: total }, async () => {
        const node = await withFreshPorts(async (busPort) => startRedis({
          ...(options.user ? { user: options.user } : {}),
          ...(options.password ? { password: options.password } : {}),
          args: [
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort),
            '--cluster-node-timeout', String(nodeTimeout),
            // A replica may take over however long it was cut off: tests kill masters on purpose.
            '--cluster-replica-validity-factor', '0',
            // Replicas sync at once (the default waits 5 s for more replicas to share a transfer).
            '--repl-diskless-sync-delay', '0',
            ...(options.args ?? []),
          ],
        }));
        nodes.push(Object.assign(node, { address: `127.0.0.1:${node.port}` }));
      }),
    );
    const failed = starts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const auth = [...(options.user ? ['--user', options.user] : []), ...(options.password ? ['--pass', options.password, '--no-auth-warning'] : [])];
    await run(
      REDIS_CLI,
      [...auth, '--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
      30_000,
    );
  } catch (err) {
    await close();
    throw err;
  }

  const byAddress = new Map(nodes.map((n) => [n.address, n]));
  const live = () => nodes.filter((n) => n.pid !== null);
  const view = async (): Promise<NodeLine[]> => {
    for (const n of live()) {
      const reply = await n.command('CLUSTER', 'NODES').catch(() => '');
      if (reply.startsWith('$')) return parseNodes(reply);
    }
    throw new Error('no cluster node answers');
  };
  const masters = async () =>
    (await view())
      .filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && l.slots.length > 0)
      .map((l) => byAddress.get(l.address))
      .filter((n): n is ClusterNode => n !== undefined && n.pid !== null);
  const masterOfSlot = async (slot: number) => {
    const line = (await view()).find((l) => l.flags.includes('master') && !l.flags.includes('fail') && l.slots.some(([a, b]) => slot >= a && slot <= b));
    const node = line && byAddress.get(line.address);
    if (!node) throw new Error(`no master serves slot ${slot}`);
    return node;
  };

  async function waitHealthy(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        const nodesUp = live();
        for (const n of nodesUp) {
          const info = await n.command('CLUSTER', 'INFO').catch(() => '');
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_slots_ok:16384')) return false;
          const repl = await n.command('INFO', 'replication').catch(() => '');
          if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
        }
        // Every node agrees on who serves what (a replica promoted, the others told).
        const lines = await view();
        const assigned = lines.filter((l) => l.flags.includes('master') && !l.flags.includes('fail')).reduce((s, l) => s + l.slots.reduce((a, [x, y]) => a + y - x + 1, 0), 0);
        return assigned === 16384;
      },
      { timeoutMs, intervalMs: 50, message: 'the Redis Cluster to say ok on every node' },
    );
  }

  try {
    await waitHealthy();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    masters,
    masterOfSlot,
    async killMaster(slot = 0) {
      const victim = await masterOfSlot(slot);
      await victim.kill();
      await waitFor(
        async () => {
          const now = await masterOfSlot(slot).catch(() => null);
          return now !== null && now !== victim;
        },
        { timeoutMs: 15_000, intervalMs: 50, message: `a replica to take over slot ${slot}` },
      );
      await waitHealthy();
      return victim;
    },
    waitHealthy,
    close,
  };
}
