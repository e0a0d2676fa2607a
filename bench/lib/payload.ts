// The sample both fan-out publishers send: a `process:info` body as the collector writes it, plus the
// time it was published (`sentAt`, on the shared monotonic clock) so that clients can measure latency.
import type { ProcessInfoBody } from '@vigil/protocol';

export const BENCH_NAMESPACE_SERVER_PREFIX = 'bench-';

export function benchServerId(i: number): string {
  return `${BENCH_NAMESPACE_SERVER_PREFIX}${String(i).padStart(3, '0')}`;
}

export type BenchBody = ProcessInfoBody & { sentAt: number };

export function benchBody(serverId: string, n: number, sentAt: number, iso: string): BenchBody {
  return {
    serverId,
    processInfo: {
      pid: 40_000 + (n % 1000),
      cpu: (n % 10_000) / 100,
      memory: { rss: 50_000_000 + (n % 1_000_000), heapUsed: 0, heapTotal: 0, external: 0 },
      uptime: 3600 + n,
      timestamp: iso,
    },
    timestamp: iso,
    sentAt,
  };
}
