// Hostile clients against a real gateway process: one honest client watches a busy server while,
// in turn, paused readers ask for big backfills, a paused reader sits in a busy log room, 200
// sockets take every room they may and close at once, one address opens 2,000 connections, and
// 200 sockets send binary attachments. Through all of it the gateway's RSS stays under 512 MiB,
// the honest client's p99 delay under 250 ms, and no healthy server is reported stale. The
// figures are printed (t.comment) for the release note.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import { NAMESPACE, ServerEvents, positionTime, type LogLevel } from '@vigil/protocol';
import { BatchWriter } from '@vigil/store';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { FakeCollector, registryEntry } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const RSS_LIMIT_MIB = 512;
const P99_LIMIT_MS = 250;
const HOSTILE_SOCKETS = 200;

type Figures = { delays: number[]; rssPeakMiB: number; loopMaxMs: number; stale: string[] };

t.test('hostile clients cannot hurt an honest one', { timeout: 180_000 }, async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const [port, metricsPort] = [await freePort(), await freePort()];
  const gateway = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', ENTRY], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      VIGIL_METRICS_PORT: String(metricsPort),
      VIGIL_REDIS_URL: redis.url,
      VIGIL_LOG_LEVEL: 'error',
      VIGIL_AUTH: 'none',
      // The hostile crowd comes "through a proxy" on loopback, each with its own address.
      VIGIL_TRUST_PROXY: '127.0.0.1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  gateway.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise((r) => gateway.once('exit', r));
  t.teardown(async () => {
    if (gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, { timeoutMs: 30_000, message: `gateway ready (${stderr})` });

  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  const writer = new BatchWriter(collector.redis);
  const sockets = new Set<Socket>();
  t.teardown(() => sockets.forEach((s) => s.close()));
  const open = (options: Record<string, unknown> = {}) => {
    const s = connect(`${url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, ...options });
    sockets.add(s);
    s.on('disconnect', () => sockets.delete(s));
    return s;
  };
  const as = (address: string) => ({ extraHeaders: { 'x-forwarded-for': address } });

  // Servers: `busy` (samples at 20 Hz), `chatty` (10,000 lines of history, then a stream of lines).
  await writer.write({
    appends: [],
    registry: ['chatty', 'busy'].map((id) => ({ serverId: id, entry: JSON.stringify(registryEntry(id, id === 'chatty' ? { staleAfterMs: 3_600_000 } : {})) })),
    heartbeats: ['chatty', 'busy'].map((id) => ({ serverId: id, at: Date.now() })),
  });
  const line = (i: number, size = 200) => ({ level: 'info' as LogLevel, message: `line ${i} ${'x'.repeat(size)}` });
  for (let i = 0; i < 10_000; i += 500) await collector.lines('chatty', Array.from({ length: 500 }, (_, k) => line(i + k)));

  let pumping = true;
  const pump = (async () => {
    for (let n = 0; pumping; n++) {
      await collector.sample('busy', n);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.teardown(async () => {
    pumping = false;
    await pump;
  });

  const figures: Figures = { delays: [], rssPeakMiB: 0, loopMaxMs: 0, stale: [] };
  const honest = open();
  await waitFor(() => honest.connected, { message: 'honest client connects' });
  honest.on(ServerEvents.processInfo, (e: { position: string }) => figures.delays.push(Date.now() - positionTime(e.position)));
  honest.on(ServerEvents.serverStatusChanged, (e: { serverId: string; status: string }) => {
    if (e.status === 'stale') figures.stale.push(e.serverId);
  });
  const ack = (await honest.timeout(5000).emitWithAck('subscribe-server-metrics', { serverId: 'busy' })) as { ok: boolean };
  t.equal(ack.ok, true, 'the honest client subscribes');

  // Watch the gateway: RSS from /proc, the event loop's worst lag from its own metrics.
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      figures.rssPeakMiB = Math.max(figures.rssPeakMiB, rssMiB(gateway.pid!));
      const lag = await eventLoopMaxMs(metricsPort);
      figures.loopMaxMs = Math.max(figures.loopMaxMs, lag);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  t.teardown(async () => {
    watching = false;
    await watcher;
  });
  const phase = async (name: string, run: () => Promise<void>) => {
    const from = figures.delays.length;
    await run();
    const delays = figures.delays.slice(from);
    t.comment(`${name}: honest p99 ${percentile(delays, 0.99)} ms over ${delays.length} samples, RSS peak so far ${figures.rssPeakMiB.toFixed(0)} MiB`);
    t.ok(delays.length > 0, `${name}: the honest client kept receiving`);
  };

  await phase('10 paused readers asking backfill 10,000', async () => {
    const readers = Array.from({ length: 10 }, (_, i) => open(as(`10.0.1.${i}`)));
    await waitFor(() => readers.every((r) => r.connected), { message: 'paused readers connect' });
    for (const r of readers) {
      r.emit('subscribe-server-logs', { serverId: 'chatty', backfill: 10_000 });
      pause(r);
    }
    await new Promise((r) => setTimeout(r, 4000));
    readers.forEach((r) => r.close());
  });

  await phase('a paused reader on a busy log room', async () => {
    const reader = open(as('10.0.2.1'));
    await waitFor(() => reader.connected, { message: 'reader connects' });
    await reader.timeout(5000).emitWithAck('subscribe-server-logs', { serverId: 'chatty' });
    pause(reader);
    const before = await slowConsumers(metricsPort);
    let n = 10_000;
    await waitFor(
      async () => {
        await collector.lines('chatty', Array.from({ length: 200 }, () => line(n++, 1000)));
        return (await slowConsumers(metricsPort)) > before;
      },
      { timeoutMs: 40_000, intervalMs: 20, message: 'the paused reader to be disconnected as a slow consumer' },
    );
    t.pass(`the paused reader was disconnected after ${n - 10_000} lines`);
    reader.close();
  });

  await phase(`${HOSTILE_SOCKETS} sockets x every room they may hold, closing at once`, async () => {
    const perSocket = 42; // 42 log subscriptions at trace = 252 rooms; the 43rd would pass 256
    const ids = Array.from({ length: HOSTILE_SOCKETS * perSocket + 1 }, (_, i) => `h-${i}`);
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = ids.slice(i, i + 1000);
      await writer.write({
        appends: [],
        registry: slice.map((id) => ({ serverId: id, entry: JSON.stringify(registryEntry(id, { staleAfterMs: 3_600_000 })) })),
        heartbeats: slice.map((id) => ({ serverId: id, at: Date.now() })),
      });
    }
    const crowd = Array.from({ length: HOSTILE_SOCKETS }, (_, i) => open(as(`10.1.${i >> 8}.${i & 255}`)));
    await waitFor(() => crowd.every((c) => c.connected), { timeoutMs: 20_000, message: 'the crowd connects' });
    await Promise.all(
      crowd.map(async (c, i) => {
        for (let k = 0; k < perSocket; k++) {
          const a = (await c.timeout(10_000).emitWithAck('subscribe-server-logs', { serverId: ids[i * perSocket + k] })) as { ok: boolean };
          if (!a.ok) throw new Error(`subscribe ${k} refused: ${JSON.stringify(a)}`);
        }
      }),
    );
    const over = (await crowd[0]!.timeout(5000).emitWithAck('subscribe-server-logs', { serverId: ids[ids.length - 1] })) as { ok: boolean; error?: { code: string } };
    t.equal(over.error?.code, 'VIGIL_ERR_TOO_MANY_ROOMS', 'a log subscription counts its 6 rooms: the 43rd is refused');
    crowd.forEach((c) => c.close());
    await new Promise((r) => setTimeout(r, 3000));
  });

  await phase('2,000 connection attempts from one address', async () => {
    const attempts = Array.from({ length: 2000 }, () => open());
    const settled = await Promise.all(
      attempts.map((s) => new Promise<string>((resolve) => {
        s.once('connect', () => resolve('connected'));
        s.once('connect_error', () => resolve('refused'));
      })),
    );
    const connected = settled.filter((s) => s === 'connected').length;
    t.ok(connected <= 100, `at most 100 connections per address (${connected} of 2,000 connected)`);
    const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const body = (await res.json()) as { error?: { code: string } };
    t.equal(res.status, 429, 'a further handshake from that address: 429');
    t.equal(body.error?.code, 'VIGIL_ERR_TOO_MANY_CONNECTIONS', 'with its code');
    attempts.forEach((s) => s.close());
    await new Promise((r) => setTimeout(r, 1500));
  });

  await phase(`${HOSTILE_SOCKETS} sockets sending binary attachments`, async () => {
    const senders = Array.from({ length: HOSTILE_SOCKETS }, (_, i) => open(as(`10.2.${i >> 8}.${i & 255}`)));
    await waitFor(() => senders.every((c) => c.connected), { timeoutMs: 20_000, message: 'the senders connect' });
    const reasons: string[] = [];
    const gone = senders.map((s) => new Promise<void>((r) => s.once('disconnect', () => r())));
    for (const s of senders) {
      s.on(ServerEvents.disconnectReason, (r: { code: string }) => reasons.push(r.code));
      s.emit('subscribe-server-metrics', { serverId: 'busy', blob: Buffer.alloc(60_000) });
    }
    await Promise.all(gone);
    t.equal(reasons.filter((c) => c === 'VIGIL_ERR_INVALID_PAYLOAD').length, HOSTILE_SOCKETS, 'each sender was told why and disconnected');
    t.ok(honest.connected, 'the honest client is still connected');
  });

  pumping = false;
  await pump;
  watching = false;
  await watcher;
  const p99 = percentile(figures.delays, 0.99);
  t.comment(`hostile suite: gateway RSS peak ${figures.rssPeakMiB.toFixed(0)} MiB, honest p99 ${p99} ms (${figures.delays.length} samples), event-loop max ${figures.loopMaxMs.toFixed(0)} ms`);
  t.ok(figures.rssPeakMiB < RSS_LIMIT_MIB, `gateway RSS peak ${figures.rssPeakMiB.toFixed(0)} MiB < ${RSS_LIMIT_MIB} MiB`);
  t.ok(p99 < P99_LIMIT_MS, `honest client's p99 delay ${p99} ms < ${P99_LIMIT_MS} ms`);
  t.same(figures.stale, [], 'no healthy server was reported stale');
  t.equal(gateway.exitCode, null, 'the gateway is still running');
});

function pause(s: Socket): void {
  const ws = (s.io.engine.transport as unknown as { ws?: { _socket?: { pause(): void } } }).ws;
  ws?._socket?.pause();
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const eventLoopMaxMs = async (port: number) => (await metricValue(port, 'nodejs_eventloop_lag_max_seconds').catch(() => 0)) * 1000;
const slowConsumers = (port: number) => metricValue(port, 'vigil_gateway_slow_consumers_total');

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
