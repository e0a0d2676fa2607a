// Memory per connection: one gateway (the real CLI, as `npm start` runs it) on a private Redis,
// N Socket.IO clients (bench/cluster-clients.ts, spread over client processes and loopback source
// addresses) connected idle or each subscribed to one server's metrics; the gateway's RSS and V8
// heap before and after, divided by N. A fresh gateway for every (kind, N), so that no measurement
// inherits another's garbage. The per-address connection cap and the handshake rate limit are
// raised through the environment: they exist to stop one abusive address, not a load generator.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis, stopProcess, waitFor } from '@vigil/testkit';
import { loopbackAddresses } from '../../scripts/lib/lb.mjs';
import { httpGet } from '../../scripts/lib/wait.mjs';
import { BENCH_SECRET } from './auth.js';
import { monoNow, spawnTs, track, type Child, type Message } from './children.js';
import { benchServerId } from './payload.js';
import { rssBytes } from './proc-stats.js';
import { promValue } from './prom.js';

export const RAISED_LIMITS = { VIGIL_MAX_CONNECTIONS_PER_ADDRESS: '100000', VIGIL_HANDSHAKES_PER_SECOND: '100000' };

export type ConnMemoryRow = {
  kind: 'idle' | 'subscribed';
  connections: number;
  connected: number;
  failed: number;
  firstError: string | null;
  connectMs: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssPerConnBytes: number;
  heapPerConnBytes: number;
};

const GATEWAY_CLI = fileURLToPath(new URL('../../services/gateway/dist/cli.js', import.meta.url));
// An instrument, not a change to the gateway: SIGUSR2 makes it collect garbage (a full GC).
const GC_ON_SIGUSR2 = ['--expose-gc', `--import=${fileURLToPath(new URL('./gc-on-signal.mjs', import.meta.url))}`];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function startGateway(redisUrl: string) {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [...GC_ON_SIGUSR2, GATEWAY_CLI], {
    env: { ...process.env, VIGIL_PORT: String(port), VIGIL_BIND_HOST: '127.0.0.1', VIGIL_METRICS_PORT: String(metricsPort), VIGIL_REDIS_URL: redisUrl, VIGIL_GATEWAY_ID: 'mem', VIGIL_LOG_LEVEL: 'warn', VIGIL_AUTH_SECRET: BENCH_SECRET, ...RAISED_LIMITS },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  track(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`gateway exited (${proc.exitCode})`);
    return (await httpGet(`${url}/readyz`).catch(() => ({ status: 0 }))).status === 200;
  }, { timeoutMs: 30_000, intervalMs: 100, message: 'the gateway to be ready' });
  // Where /metrics is: the metrics port once the gateway has one, else the main port.
  const metricsUrl = (await httpGet(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => ({ status: 0 }))).status === 200 ? `http://127.0.0.1:${metricsPort}` : url;
  return { proc, url, metricsUrl };
}

/**
 * Median of three readings one second apart, each after a full GC: RSS from /proc, heap used from
 * /metrics. First three collections 3 s apart: a fresh gateway's RSS is ~20 MiB above its settled
 * level until V8 has collected a few times and given the pages back.
 */
async function reading(pid: number, metricsUrl: string): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    process.kill(pid, 'SIGUSR2');
    await sleep(3000);
  }
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 3; i++) {
    process.kill(pid, 'SIGUSR2');
    await sleep(1000);
    rss.push(rssBytes(pid) ?? NaN);
    const { body } = await httpGet(`${metricsUrl}/metrics`, 5000);
    heap.push(promValue(String(body), 'nodejs_heap_size_used_bytes') ?? NaN);
  }
  return { rss: med(rss), heap: med(heap) };
}

export async function measureConnMemory(o: {
  counts: number[];
  clientProcs: number;
  addresses: number;
  log: (l: string) => void;
}): Promise<ConnMemoryRow[]> {
  const redis = await startRedis();
  // The gateway refuses subscriptions to servers no collector wrote for: the publisher registers
  // the 100 bench servers with one tick (one sample each), before any gateway runs.
  const publisher = await spawnTs('publisher-proc.ts');
  await publisher.next('ready', 30_000);
  publisher.send({ type: 'start', kind: 'vigil', redisUrl: redis.url, servers: 100, collectors: 1 });
  await publisher.next('started', 30_000);
  const from = monoNow();
  publisher.send({ type: 'run', run: { ratePerSec: 1, from, to: from + 500, until: from + 500 } });
  await publisher.next('ran', 30_000);
  const rows: ConnMemoryRow[] = [];
  const addresses = loopbackAddresses(o.addresses);
  try {
    for (const kind of ['idle', 'subscribed'] as const) {
      for (const n of o.counts) {
        const gw = await startGateway(redis.url);
        const clients: Child[] = [];
        try {
          const before = await reading(gw.proc.pid!, gw.metricsUrl);
          for (let p = 0; p < o.clientProcs; p++) {
            const c = await spawnTs('cluster-clients.ts');
            clients.push(c);
            await c.next('ready', 30_000);
          }
          const t0 = Date.now();
          clients.forEach((c, p) => {
            const list = [];
            for (let i = p; i < n; i += o.clientProcs) {
              list.push({ url: gw.url, serverId: kind === 'idle' ? null : benchServerId(i % 100), address: addresses[i % addresses.length] });
            }
            c.send({ type: 'connect', clients: list, mode: 'once' });
          });
          type Connected = Message & { subscribed: number; failed: number; firstError: string | null };
          const conn = await Promise.all(clients.map((c) => c.next<Connected>('connected', 600_000)));
          const connectMs = Date.now() - t0;
          await sleep(2000);
          const after = await reading(gw.proc.pid!, gw.metricsUrl);
          const connected = conn.reduce((a, c) => a + c.subscribed, 0);
          const row: ConnMemoryRow = {
            kind,
            connections: n,
            connected,
            failed: conn.reduce((a, c) => a + c.failed, 0),
            firstError: conn.find((c) => c.firstError)?.firstError ?? null,
            connectMs,
            rssBeforeBytes: before.rss,
            rssAfterBytes: after.rss,
            heapBeforeBytes: before.heap,
            heapAfterBytes: after.heap,
            rssPerConnBytes: Math.round((after.rss - before.rss) / Math.max(1, connected)),
            heapPerConnBytes: Math.round((after.heap - before.heap) / Math.max(1, connected)),
          };
          rows.push(row);
          o.log(`memory per connection, ${kind} ×${n}: ${connected} connected (${row.failed} failed) in ${connectMs} ms; RSS +${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB → ${(row.rssPerConnBytes / 1024).toFixed(1)} KiB/conn, heap ${(row.heapPerConnBytes / 1024).toFixed(1)} KiB/conn`);
        } finally {
          for (const c of clients) await c.stop(10_000);
          await stopProcess(gw.proc, 'SIGTERM', 15_000);
        }
      }
    }
  } finally {
    await publisher.stop(5000);
    await redis.close();
  }
  return rows;
}
