// A Redis outage: the gateway process never exits, readiness goes 503 and back to 200, REST
// answers 503 with a code meanwhile, and samples flow again to clients that stayed subscribed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, FakeCollector, collect, connectClient, emitAck } from './helpers.js';
import { TEST_SECRET } from './auth-keys.js';

const entry = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function spawnGateway(redisUrl: string, t: { teardown(fn: () => unknown): void }) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', entry], {
    env: {
      ...process.env,
      VIGIL_PORT: String(port),
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_METRICS_PORT: String(await freePort()),
      VIGIL_REDIS_URL: redisUrl,
      VIGIL_LOG_LEVEL: 'info',
      VIGIL_STALE_SWEEP_MS: '200',
      VIGIL_AUTH_SECRET: TEST_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let exitCode: number | null | undefined;
  child.on('exit', (code, signal) => (exitCode = code ?? (signal as unknown as number)));
  t.teardown(async () => {
    if (exitCode === undefined) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    get exitCode() {
      return exitCode;
    },
    get output() {
      return output;
    },
    ready: async () => {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      return res?.status ?? 0;
    },
  };
}

t.test('Redis stopped for 10 s: the gateway stays up, readiness flips, samples resume', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await spawnGateway(redis.url, t);
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000, message: 'gateway ready' });
  const collector = new FakeCollector(redis.url);
  t.teardown(() => collector.close());
  const client = await connectClient(gw.url, { reconnection: true });
  t.teardown(() => client.close());
  const infos = collect<ProcessInfoEvent>(client, ServerEvents.processInfo);
  await collector.register(['S', 'T']);
  t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: 'S' }), { ok: true });
  await collector.sample('S', 1);
  await waitFor(() => infos.length === 1);

  await redis.stop();
  const downAt = Date.now();
  await waitFor(async () => (await gw.ready()) === 503, { message: 'readyz 503 during the outage' });
  const notReady = (await (await fetch(`${gw.url}/readyz`)).json()) as { error: { code: string; message: string } };
  t.equal(notReady.error.code, ErrorCodes.REDIS_UNAVAILABLE, 'readyz says why, with a code');
  const rest = await fetch(`${gw.url}/api/servers`, { headers: { authorization: `Bearer ${ALL_ACCESS_TOKEN}` } });
  t.equal(rest.status, 503, 'REST answers 503 during the outage');
  t.equal(((await rest.json()) as { error: { code: string } }).error.code, ErrorCodes.REDIS_UNAVAILABLE);
  // Clients keep talking to the gateway during the outage; subscribing still works locally.
  const ack = await emitAck<{ ok: boolean; warning?: { code: string } }>(client, 'subscribe-server-metrics', { serverId: 'T' });
  t.equal(ack.ok, true, 'subscribing during the outage is confirmed');
  t.equal(ack.warning?.code, ErrorCodes.REDIS_UNAVAILABLE, 'with a warning that the latest sample is unavailable');
  // Keep the outage going for 10 s, checking the process all along.
  await waitFor(() => gw.exitCode !== undefined || Date.now() - downAt >= 10_000, { timeoutMs: 15_000, intervalMs: 200 });
  t.equal(gw.exitCode, undefined, 'the gateway did not exit during a 10 s outage');
  t.equal(await gw.ready(), 503);

  await redis.start();
  const upAt = Date.now();
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000, message: 'readyz 200 after Redis returns' });
  t.comment(`readiness recovered ${Date.now() - upAt} ms after Redis came back`);
  // The gateway re-subscribed its rooms by itself: new samples arrive without the client doing anything.
  await waitFor(
    async () => {
      await collector.sample('S', 2);
      return infos.some((i) => i.processInfo.uptime === 2);
    },
    { timeoutMs: 20_000, intervalMs: 250, message: 'samples to flow again' },
  );
  await collector.sample('T', 3);
  await waitFor(() => infos.some((i) => i.serverId === 'T'), { message: 'the room joined during the outage works too' });
  t.equal(gw.exitCode, undefined, 'still running');
  t.notMatch(gw.output, /Unhandled|UnhandledPromiseRejection|VIGIL_ERR_UNHANDLED_REJECTION/, 'no unhandled rejection was logged');
});

t.test('Redis down at start-up: the gateway starts, is not ready, then becomes ready', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  await redis.stop();
  const gw = await spawnGateway(redis.url, t);
  await waitFor(async () => (await gw.ready()) === 503, { timeoutMs: 20_000, message: 'gateway answering 503' });
  t.equal((await fetch(`${gw.url}/healthz`)).status, 200, 'alive while not ready');
  await redis.start();
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000, message: 'ready once Redis is up' });
  t.equal(gw.exitCode, undefined);
  t.notMatch(gw.output, /Unhandled|VIGIL_ERR_UNHANDLED_REJECTION/);
});

t.test('SIGTERM during an outage still shuts down cleanly', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await spawnGateway(redis.url, t);
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000 });
  const client = await connectClient(gw.url);
  t.teardown(() => client.close());
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'S' });
  await redis.stop();
  await waitFor(async () => (await gw.ready()) === 503);
  await emitAck(client, 'subscribe-server-metrics', { serverId: 'U' }); // a subscription queued while Redis is away
  const started = Date.now();
  process.kill(gw.pid, 'SIGTERM');
  await waitFor(() => gw.exitCode !== undefined, { timeoutMs: 10_000, message: 'gateway to exit' });
  t.equal(gw.exitCode, 0, `exited 0 after SIGTERM (in ${Date.now() - started} ms)`);
  t.notMatch(gw.output, /Unhandled|VIGIL_ERR_UNHANDLED_REJECTION/);
});

t.test('readiness answers within its timeout even when Redis stops answering mid-probe', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await spawnGateway(redis.url, t);
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000 });
  // SIGSTOP: the connections stay open but nothing answers, the case a crashed or frozen Redis presents.
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.command('INFO', 'server'))?.[1]);
  t.ok(redisPid > 0, 'found the redis-server pid');
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(redisPid, 'SIGCONT');
    } catch {
      /* already gone */
    }
  });
  const started = Date.now();
  const res = await fetch(`${gw.url}/readyz`, { signal: AbortSignal.timeout(8000) });
  t.equal(res.status, 503, 'a frozen Redis is not ready');
  t.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
  process.kill(redisPid, 'SIGCONT');
  await waitFor(async () => (await gw.ready()) === 200, { timeoutMs: 20_000, message: 'ready after Redis thaws' });
});
