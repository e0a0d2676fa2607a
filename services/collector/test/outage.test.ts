// A Redis outage costs samples (counted), never status events and never the collector: it keeps
// ticking while Redis is away, and what happened meanwhile is written once Redis is back.
import t from 'tap';
import { ErrorCodes, Keys, NAMESPACE, comparePositions, metricsRoom } from '@vigil/protocol';
import { adapterChannel } from '@vigil/store';
import { startTcpBalancer, waitFor } from '@vigil/testkit';
import {
  latest,
  registryEntry,
  spawnChild,
  statusEvents,
  streamEntries,
  watchRoom,
  type StatusBody,
  redisFor,
  collectorFor,
} from './fixtures.js';

t.test('redis stopped for ~3 s of ticks: no crash, samples resume, the exit made meanwhile arrives', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));

  const { redis, r } = await redisFor(t);
  const child = await spawnChild(t);
  // The collector reaches Redis through a gate, so that after the outage it reconnects only once
  // the room watcher (connected directly) has resubscribed: then the broadcast check cannot race.
  // With no backend the balancer refuses every connection: the gate is shut.
  const gate = await startTcpBalancer([redis.port]);
  t.teardown(() => gate.close());
  const room = await watchRoom(t, redis.url, 'api');
  const { collector, lines } = collectorFor(t, `redis://127.0.0.1:${gate.port}`, {
    self: { id: 'me', intervalMs: 200 },
    targets: [{ id: 'api', pid: child.pid, intervalMs: 200 }],
  });
  await collector.start();
  await waitFor(async () => (await latest(r, 'me')) !== null && (await latest(r, 'api')) !== null, { message: 'first samples' });
  const before = (await latest(r, 'me'))!.position;

  await redis.stop();
  const ticksAtStop = collector.stats().ticks;
  await waitFor(() => collector.stats().ticks >= ticksAtStop + 3, { message: 'ticks while redis is down' });
  await child.kill();
  await waitFor(() => collector.stats().eventsPending >= 1, { message: 'the exit to be seen and queued' });
  // About 3 s of 200 ms ticks in all: ticks go on at their pace while Redis is away.
  await waitFor(() => collector.stats().ticks >= ticksAtStop + 15, { message: 'more ticks while redis is down', timeoutMs: 15_000 });
  const during = collector.stats();
  t.ok(during.samplesDropped > 0, `samples dropped: ${during.samplesDropped}`);
  t.ok(during.writeFailures > 0, `write failures: ${during.writeFailures}`);

  // Redis is down: no connection through the gate is left, and none is let through now.
  gate.setBackends([]);
  await redis.start();
  const channel = adapterChannel(NAMESPACE, metricsRoom('api'));
  await waitFor(async () => /:1\r\n$/.test(await redis.command('PUBSUB', 'SHARDNUMSUB', channel)), {
    message: 'the room watcher to resubscribe',
    timeoutMs: 15_000,
  });
  gate.setBackends([redis.port]);
  // The restarted Redis is empty: whatever is there now was written after reconnecting.
  const events = await waitFor(
    async () => {
      const e = await streamEntries<StatusBody>(r, Keys.events('api'));
      return e.length > 0 ? e : null;
    },
    { message: 'the exited event after reconnect', timeoutMs: 15_000 },
  );
  t.match(events.map(([, body]) => body), [{ serverId: 'api', status: 'exited', pid: child.pid }], 'the exit made during the outage');
  await waitFor(() => statusEvents(room).length === 2, { message: 'the exited broadcast' });
  t.match(
    statusEvents(room),
    [
      { status: 'running', pid: child.pid },
      { status: 'exited', pid: child.pid, position: events[0]![0] },
    ],
    'the room got the exit after reconnect, with its stream position',
  );
  const first = (await waitFor(() => latest(r, 'me'), { message: 'a sample after reconnect' })).position;
  t.ok(comparePositions(first, before) > 0, 'latest position advanced past the pre-outage one');
  await waitFor(async () => comparePositions((await latest(r, 'me'))!.position, first) > 0, { message: 'samples keep flowing' });
  t.match(await registryEntry(r, 'api'), { status: 'exited' }, 'registry rewritten by the next tick');
  t.equal((await latest(r, 'api')) ?? null, null, 'no sample for the exited process');

  const after = collector.stats();
  t.equal(after.eventsPending, 0, 'queue flushed');
  t.equal(after.eventsDropped, 0, 'no event lost');
  t.equal(lines.filter((l) => l.code === ErrorCodes.REDIS_WRITE_FAILED).length, 1, 'one warning for the outage');
  const recovered = lines.find((l) => l.msg === 'redis writes succeed again');
  t.ok(recovered && (recovered.samplesDropped as number) > 0, 'recovery logged with the number of dropped samples');
  t.same(unhandled, [], 'no unhandled rejection');
});
