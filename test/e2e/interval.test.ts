// Sampling at the rate viewers ask, all real: a collector process configured at 5 s, a private
// redis-server, two gateway processes. A client asking 500 ms gets a sample about every 500 ms on
// either gateway; the fastest ask wins; when the askers leave, or their gateway is killed without
// cleaning up, the collector is back to 5 s within seconds.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { COLLECTOR_ENTRY, client, emitAck, killAndWait, registered, spawnService, spawnTarget, startGatewayProcess } from './helpers.js';

const CONFIGURED_MS = 5000;
const WINDOW_MS = 5000;

/** When each sample reached a client (monotonic ms). */
function arrivals(socket: Socket): number[] {
  const at: number[] = [];
  socket.on(ServerEvents.processInfo, (_e: ProcessInfoEvent) => at.push(performance.now()));
  return at;
}

/** Samples that arrive during the next `ms`. */
async function countDuring(at: number[], ms: number): Promise<number> {
  const from = performance.now();
  await waitFor(() => performance.now() - from >= ms, { timeoutMs: ms + 5000, intervalMs: 100, message: 'the window' });
  return at.filter((x) => x >= from && x < from + ms).length;
}

/** Resolves once two samples after `since` arrived at least `ms` apart: the slow rate is back. */
function slowAgain(at: number[], since: number, ms: number, timeoutMs: number): Promise<unknown> {
  return waitFor(() => at.some((x, i) => i > 0 && at[i - 1]! >= since && x - at[i - 1]! >= ms), {
    timeoutMs,
    intervalMs: 100,
    message: `samples ${ms} ms apart again`,
  });
}

/** Resolves once samples arrive faster than every `ms` (two in a row after `since`). */
function fastNow(at: number[], since: number, ms: number): Promise<unknown> {
  return waitFor(() => at.some((x, i) => i > 0 && at[i - 1]! >= since && x - at[i - 1]! < ms), { timeoutMs: 15_000, intervalMs: 50, message: 'fast samples' });
}

t.test('a viewer asking 500 ms gets samples every 500 ms; leaving or dying, back to 5 s', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-interval-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = spawnTarget(t, 'vigil-e2e-interval');
  const config = join(dir, 'collector.json');
  writeFileSync(config, JSON.stringify({ targets: [{ id: 'svc', pid: target.pid, intervalMs: CONFIGURED_MS, minIntervalMs: 100 }] }));

  const [a, b] = await Promise.all([startGatewayProcess(t, redis.url), startGatewayProcess(t, redis.url)]);
  const collector = spawnService(t, COLLECTOR_ENTRY, ['--redis-url', redis.url, '--collector-id', 'e2e-interval', '--config', config], {});
  await registered(a.url, 'svc').catch((err: Error) => {
    throw new Error(`${err.message}\n${collector.output()}`);
  });

  // A viewer that asks nothing, on B: it sees whatever rate the collector samples at.
  const watcher = await client(t, b.url);
  const watched = arrivals(watcher);
  t.match(await emitAck(watcher, 'subscribe-server-metrics', { serverId: 'svc' }), { ok: true, interval: CONFIGURED_MS });

  const fastA = await client(t, a.url);
  const onA = arrivals(fastA);
  t.match(await emitAck(fastA, 'subscribe-server-metrics', { serverId: 'svc', interval: 500 }), { ok: true, interval: 500 }, 'the ack says 500');
  await fastNow(onA, performance.now(), 1000);
  const [countA, countB] = await Promise.all([countDuring(onA, WINDOW_MS), countDuring(watched, WINDOW_MS)]);
  // 10 expected in 5 s; generous bounds for a busy machine, far from the 1 of 5 s sampling.
  t.ok(countA >= 5 && countA <= 14, `asker on gateway A: ${countA} samples in 5 s`);
  t.ok(countB >= 5 && countB <= 14, `viewer on gateway B: ${countB} samples in 5 s`);

  const slowB = await client(t, b.url);
  const onSlowB = arrivals(slowB);
  t.match(await emitAck(slowB, 'subscribe-server-metrics', { serverId: 'svc', interval: 2000 }), { ok: true, interval: 2000 });
  const both = await countDuring(onSlowB, WINDOW_MS);
  t.ok(both >= 5, `asking 500 and 2000: 500 wins (${both} samples in 5 s)`);

  // The 500 asker leaves: 2000 remains; then the 2000 one leaves too: 5 s again.
  await emitAck(fastA, 'unsubscribe-server-metrics', { serverId: 'svc' });
  let since = performance.now();
  await slowAgain(watched, since, 1500, 15_000);
  await emitAck(slowB, 'unsubscribe-server-metrics', { serverId: 'svc' });
  since = performance.now();
  await slowAgain(watched, since, CONFIGURED_MS - 1000, 20_000);
  t.pass('both askers left: sampled every 5 s again');

  // An asker whose gateway is killed without any cleanup stops counting when its ask expires.
  const doomed = await client(t, a.url);
  await emitAck(doomed, 'subscribe-server-metrics', { serverId: 'svc', interval: 500 });
  await fastNow(watched, performance.now(), 1000);
  await killAndWait(a.child, 'SIGKILL');
  since = performance.now();
  await slowAgain(watched, since, CONFIGURED_MS - 1000, 25_000);
  t.pass('the killed gateway no longer counts');
});
