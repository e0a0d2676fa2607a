// Hostile clients against a real gateway process: one honest client watches a busy server while,
// in turn, paused readers ask for big backfills, a paused reader sits in a busy log room, 200
// sockets take every room they may and close at once, one address opens 2,000 connections, and
// 200 sockets send binary attachments. Through all of it the gateway's RSS stays under 512 MiB,
// the honest client keeps receiving in every phase with no delay that means harm (p99 under 1 s;
// the 250 ms target is reported), and no healthy server is reported stale. The figures are
// printed (t.comment) for the release note.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import { NAMESPACE, ServerEvents, type LogLevel } from '@vigil/protocol';
import { BatchWriter } from '@vigil/store';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, FakeCollector, registryEntry } from './helpers.js';
import { TEST_SECRET } from './auth-keys.js';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
// Connects with the token in argv[2]. Prints `delay <ms>` per sample of `busy`, `stale <id>`, `subscribed <ok>`, `disconnected`.
const HONEST_CLIENT = `
import { io } from 'socket.io-client';
const s = io(process.argv[1], { transports: ['websocket'], reconnection: false, auth: { token: process.argv[2] } });
const out = (line) => process.stdout.write(line + '\\n');
s.on('process:info', (e) => out('delay ' + (Date.now() - Number(e.position.split('-')[0]))));
s.on('server-status-changed', (e) => { if (e.status === 'stale') out('stale ' + e.serverId); });
s.on('disconnect', () => out('disconnected'));
s.on('connect', async () => out('subscribed ' + (await s.timeout(5000).emitWithAck('subscribe-server-metrics', { serverId: 'busy' })).ok));
`;
// Opens argv[3] connections at once with the token in argv[2]; prints `settled <connected> <refused>`
// when each has connected or been refused, and keeps them open until killed.
const CROWD_FROM_ONE_ADDRESS = `
import { io } from 'socket.io-client';
const all = Array.from({ length: Number(process.argv[3]) }, () =>
  io(process.argv[1], { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: process.argv[2] } }));
const settled = await Promise.all(all.map((s) => new Promise((resolve) => { s.once('connect', () => resolve(1)); s.once('connect_error', () => resolve(0)); })));
const connected = settled.reduce((a, b) => a + b, 0);
process.stdout.write('settled ' + connected + ' ' + (all.length - connected) + '\\n');
`;
const RSS_LIMIT_MIB = 512;
/** The target for the honest client's p99 delay (reported), and the bound that means harm (asserted). */
const P99_TARGET_MS = 250;
const P99_HARM_MS = 1000;
const HOSTILE_SOCKETS = 200;

type Figures = { delays: number[]; rssPeakMiB: number; loopMaxMs: number; stale: string[] };

t.test('hostile clients cannot hurt an honest one', { timeout: 180_000 }, async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const [port, metricsPort] = [await freePort(), await freePort()];
  const gateway = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', ENTRY], {
    env: {
      ...process.env,
      VIGIL_PORT: String(port),
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_METRICS_PORT: String(metricsPort),
      VIGIL_REDIS_URL: redis.url,
      VIGIL_LOG_LEVEL: 'error',
      // Every client, honest or hostile, holds a valid token: signed in is not trusted.
      VIGIL_AUTH_SECRET: TEST_SECRET,
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
    const s = connect(`${url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ALL_ACCESS_TOKEN }, ...options });
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
  // A write that times out on a starved machine is the test's own collector falling behind, not the
  // gateway's doing: counted and reported, and the honest client's delays show any effect.
  let pumpFailures = 0;
  const pump = (async () => {
    for (let n = 0; pumping; n++) {
      await collector.sample('busy', n).catch(() => pumpFailures++);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.teardown(async () => {
    pumping = false;
    await pump;
  });

  const figures: Figures = { delays: [], rssPeakMiB: 0, loopMaxMs: 0, stale: [] };
  // The honest client runs in a process of its own: the hostile crowd keeps this one busy, and
  // its delays must be the gateway's, not ours.
  const honest = spawn(process.execPath, ['--input-type=module', '-e', HONEST_CLIENT, `${url}${NAMESPACE}`, ALL_ACCESS_TOKEN], { cwd: HERE, stdio: ['ignore', 'pipe', 'inherit'] });
  const honestExited = new Promise((r) => honest.once('exit', r));
  t.teardown(async () => {
    honest.kill('SIGKILL');
    await honestExited;
  });
  let subscribed = false;
  let honestConnected = true;
  let pending = '';
  honest.stdout!.on('data', (d: Buffer) => {
    const lines = (pending + d.toString()).split('\n');
    pending = lines.pop()!;
    for (const l of lines) {
      const [kind, value] = l.split(' ');
      if (kind === 'delay') figures.delays.push(Number(value));
      else if (kind === 'stale') figures.stale.push(value!);
      else if (kind === 'subscribed') subscribed = value === 'true';
      else if (kind === 'disconnected') honestConnected = false;
    }
  });
  await waitFor(() => subscribed, { timeoutMs: 20_000, message: 'the honest client to subscribe' });
  t.pass('the honest client subscribes');

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
    const loopBefore = figures.loopMaxMs;
    figures.loopMaxMs = 0;
    await run();
    const delays = figures.delays.slice(from);
    t.comment(
      `${name}: honest p99 ${percentile(delays, 0.99)} ms over ${delays.length} samples, event-loop max ${figures.loopMaxMs.toFixed(0)} ms, RSS peak so far ${figures.rssPeakMiB.toFixed(0)} MiB`,
    );
    figures.loopMaxMs = Math.max(loopBefore, figures.loopMaxMs);
    t.ok(delays.length > 0, `${name}: the honest client kept receiving`);
  };

  // The same client with nobody hostile around: what this machine gives it right now. A busy
  // machine slows every delivery; the hostile crowd must not slow it much further.
  const calmFrom = figures.delays.length;
  await waitFor(() => figures.delays.length - calmFrom >= 60, { timeoutMs: 30_000, message: 'calm samples' });
  const calmP99 = percentile(figures.delays.slice(calmFrom), 0.99);
  t.comment(`calm: honest p99 ${calmP99} ms over ${figures.delays.length - calmFrom} samples`);

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
    await new Promise((r) => setTimeout(r, 1000));
    const subscribing = figures.loopMaxMs;
    figures.loopMaxMs = 0;
    crowd.forEach((c) => c.close());
    await new Promise((r) => setTimeout(r, 3000));
    t.comment(`event-loop max while ${HOSTILE_SOCKETS * perSocket * 6} rooms were taken: ${subscribing.toFixed(0)} ms; while they were all left at once: ${figures.loopMaxMs.toFixed(0)} ms`);
    figures.loopMaxMs = Math.max(subscribing, figures.loopMaxMs);
  });

  await phase('2,000 connection attempts from one address', async () => {
    // The crowd runs in a process of its own at the lowest CPU priority: building 2,000 Socket.IO
    // clients costs this machine about 5 times what refusing them costs the gateway, and a real
    // attacker spends that on its own machine, not on the gateway's.
    const crowd = spawn(process.execPath, ['--input-type=module', '-e', CROWD_FROM_ONE_ADDRESS, `${url}${NAMESPACE}`, ALL_ACCESS_TOKEN, '2000'], { cwd: HERE, stdio: ['ignore', 'pipe', 'inherit'] });
    const crowdExited = new Promise((r) => crowd.once('exit', r));
    t.teardown(async () => {
      crowd.kill('SIGKILL');
      await crowdExited;
    });
    setPriority(crowd.pid!, 19);
    const settledLine = new Promise<string>((resolve) => {
      let out = '';
      crowd.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      crowd.once('exit', () => resolve(out));
    });
    const [kind, connectedText, refusedText] = (await settledLine).split(' ');
    t.equal(kind, 'settled', 'every one of the 2,000 attempts connected or was refused');
    const connected = Number(connectedText);
    t.equal(connected + Number(refusedText), 2000, `2,000 attempts settled (${refusedText} refused)`);
    t.ok(connected <= 100, `at most 100 connections per address (${connected} of 2,000 connected)`);
    // Polling handshakes show the refusal itself: past the handshake rate, 429 with its code.
    const answers = await Promise.all(Array.from({ length: 60 }, () => fetch(`${url}/socket.io/?EIO=4&transport=polling`).then(async (r) => ({ status: r.status, body: await r.text() }))));
    const refused = answers.filter((a) => a.status === 429);
    t.ok(refused.length > 0, `60 more handshakes at once: ${refused.length} answered 429`);
    t.match(JSON.parse(refused[0]?.body ?? '{}'), { error: { code: 'VIGIL_ERR_TOO_MANY_CONNECTIONS' } }, 'with its code');
    crowd.kill('SIGKILL');
    await crowdExited;
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
    t.ok(honestConnected, 'the honest client is still connected');
  });

  pumping = false;
  await pump;
  watching = false;
  await watcher;
  const p99 = percentile(figures.delays, 0.99);
  t.comment(`sample pump: ${pumpFailures} write(s) timed out`);
  t.comment(`hostile suite: gateway RSS peak ${figures.rssPeakMiB.toFixed(0)} MiB, honest p99 ${p99} ms (${figures.delays.length} samples), event-loop max ${figures.loopMaxMs.toFixed(0)} ms`);
  t.ok(figures.rssPeakMiB < RSS_LIMIT_MIB, `gateway RSS peak ${figures.rssPeakMiB.toFixed(0)} MiB < ${RSS_LIMIT_MIB} MiB`);
  // 250 ms is the target, and a figure for the release note (printed above), not an assertion: on
  // a shared 2-core machine a load spike alone moves it past that. What is asserted is the harm
  // the hostile crowd did before the edge existed: honest clients silent for seconds (a 4.9 s
  // stall). The bound is 1 s, or 4 × this run's calm p99 if the machine is that slow already.
  const p99Limit = Math.max(P99_HARM_MS, 4 * calmP99);
  t.comment(`honest p99 ${p99} ms against the ${P99_TARGET_MS} ms target: ${p99 < P99_TARGET_MS ? 'met' : 'not met in this run'}`);
  t.ok(p99 < p99Limit, `honest client's p99 delay ${p99} ms < ${p99Limit} ms (${P99_HARM_MS} ms, or 4 × the calm p99 of ${calmP99} ms)`);
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
