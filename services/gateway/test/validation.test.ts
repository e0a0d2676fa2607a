// Every malformed payload gets an error ack with a stable code; the gateway keeps serving
// everyone else, and the offending client too.
import t from 'tap';
import { ErrorCodes, ServerEvents, type ProcessInfoEvent } from '@vigil/protocol';
import { startRedis, waitFor } from '@vigil/testkit';
import { ALL_ACCESS_TOKEN, FakeCollector, collect, connectClient, emitAck, startGateway } from './helpers.js';

const huge = 'x'.repeat(20_000);
const polluted = JSON.parse('{"serverId":"api","__proto__":{"polluted":true}}');
const constructorPolluted = JSON.parse('{"serverId":"api","constructor":{"prototype":{"polluted":true}}}');

const commonBad: Array<[string, unknown[]]> = [
  ['a number', [42]],
  ['a string', ['api']],
  ['an array', [['api']]],
  ['two payloads', [{ serverId: 'api' }, { serverId: 'api' }]],
  ['a huge string', [huge]],
  ['__proto__ key', [polluted]],
  ['constructor key', [constructorPolluted]],
];

const cases: Record<string, Array<[string, unknown[]]>> = {
  'subscribe-server-metrics': [
    ['no payload', []],
    ['null', [null]],
    ['missing serverId', [{}]],
    ['numeric serverId', [{ serverId: 12 }]],
    ['empty serverId', [{ serverId: '' }]],
    ['serverId with spaces', [{ serverId: 'a b' }]],
    ['serverId with a newline', [{ serverId: 'a\nb' }]],
    ['huge serverId', [{ serverId: huge }]],
    ['serverId too long', [{ serverId: 'a'.repeat(129) }]],
    ['string interval', [{ serverId: 'api', interval: '5000' }]],
    ['negative interval', [{ serverId: 'api', interval: -1 }]],
    ['fractional interval', [{ serverId: 'api', interval: 1000.5 }]],
    ['unknown field', [{ serverId: 'api', admin: true }]],
    ['nested object as serverId', [{ serverId: { $ne: null } }]],
    ...commonBad,
  ],
  'subscribe-server-logs': [
    ['no payload', []],
    ['missing serverId', [{ level: 'warn' }]],
    ['unknown level', [{ serverId: 'api', level: 'loud' }]],
    ['numeric level', [{ serverId: 'api', level: 40 }]],
    ['bad since', [{ serverId: 'api', since: 'yesterday' }]],
    ['huge since', [{ serverId: 'api', since: huge }]],
    ['negative backfill', [{ serverId: 'api', backfill: -1 }]],
    ['huge backfill', [{ serverId: 'api', backfill: 1e9 }]],
    ['string backfill', [{ serverId: 'api', backfill: '10' }]],
    ['since and backfill', [{ serverId: 'api', since: '1-0', backfill: 5 }]],
    ['unknown field', [{ serverId: 'api', follow: true }]],
    ...commonBad,
  ],
  'unsubscribe-server-logs': [
    ['no payload', []],
    ['missing serverId', [{}]],
    ...commonBad,
  ],
  'unsubscribe-server-metrics': [
    ['no payload', []],
    ['missing serverId', [{}]],
    ['huge serverId', [{ serverId: huge }]],
    ...commonBad,
  ],
  unsubscribe: [
    ['no payload', []],
    ['missing room', [{}]],
    ['numeric room', [{ room: 1 }]],
    ['huge room', [{ room: huge }]],
    ['empty room', [{ room: '' }]],
    ...commonBad,
  ],
  'get-connection-status': [
    ['a number', [42]],
    ['an object with fields', [{ verbose: true }]],
    ['a huge string', [huge]],
  ],
  ping: [
    ['a number', [42]],
    ['an object timestamp', [{ timestamp: { a: 1 } }]],
    ['a huge timestamp', [{ timestamp: huge }]],
    ['unknown field', [{ timestamp: 1, x: 1 }]],
  ],
};

t.test('malformed payloads are answered with error acks and harm no one', async (t) => {
  const redis = await startRedis();
  // A generous rate so the barrage itself is not what is being limited.
  const gw = await startGateway(redis.url, { eventsPerSecond: 10_000, eventBurst: 10_000 });
  const collector = new FakeCollector(redis.url);
  const attacker = await connectClient(gw.url);
  const bystander = await connectClient(gw.url);
  t.teardown(async () => {
    attacker.close();
    bystander.close();
    await collector.close();
    await gw.close();
    await redis.close();
  });
  const bystanderInfos = collect<ProcessInfoEvent>(bystander, ServerEvents.processInfo);
  await collector.register('api');
  await emitAck(bystander, 'subscribe-server-metrics', { serverId: 'api' });

  for (const [event, list] of Object.entries(cases)) {
    for (const [name, args] of list) {
      const ack = await emitAck<{ ok: boolean; error?: { code: string; message: string } }>(attacker, event, ...args);
      t.equal(ack.ok, false, `${event} with ${name} is refused`);
      t.equal(ack.error?.code, ErrorCodes.INVALID_PAYLOAD, `${event} with ${name} says why, with a code`);
      t.ok((ack.error?.message.length ?? 0) < 400, `${event} with ${name}: the message stays short`);
    }
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  t.equal(attacker.connected, true, 'the sender of bad payloads is still connected');
  t.match(await emitAck(attacker, 'subscribe-server-metrics', { serverId: 'api' }), { ok: true }, 'and can still subscribe properly');

  await collector.sample('api', 1);
  await waitFor(() => bystanderInfos.length === 1, { message: 'the bystander to keep receiving' });
  t.equal(bystander.connected, true);
});

t.test('events with no ack and unknown events are ignored without harm', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url);
  const client = await connectClient(gw.url);
  t.teardown(async () => {
    client.close();
    await gw.close();
    await redis.close();
  });
  client.emit('subscribe-server-metrics', { serverId: 12 });
  client.emit('no-such-event', { x: 1 });
  client.emit('subscribe-server-metrics');
  t.match(await emitAck(client, 'ping'), { ok: true }, 'the connection still answers');
  t.match(await emitAck(client, 'no-such-event', { x: 1 }), { ok: false, error: { code: ErrorCodes.UNKNOWN_EVENT } }, 'an unknown event with an ack is answered, not left hanging');
});

t.test('unknown events spend the event budget like known ones', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { eventsPerSecond: 1, eventBurst: 3 });
  const client = await connectClient(gw.url);
  t.teardown(async () => {
    client.close();
    await gw.close();
    await redis.close();
  });
  // Sent at once: the budget (3, then 1 a second) cannot refill between them.
  const acks = await Promise.all([...Array.from({ length: 10 }, (_, i) => emitAck(client, 'no-such-event', { i })), emitAck(client, 'ping')]);
  t.match(acks[0], { ok: false, error: { code: ErrorCodes.UNKNOWN_EVENT } }, 'within the budget: unknown event');
  t.match(acks[9], { ok: false, error: { code: ErrorCodes.RATE_LIMITED } }, 'past the burst: rate limited');
  t.match(acks[10], { ok: false, error: { code: ErrorCodes.RATE_LIMITED } }, 'and a known event after the flood waits its turn too');
});

t.test('a message over the payload limit disconnects only its sender', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { maxPayloadBytes: 16 * 1024 });
  const big = await connectClient(gw.url);
  const other = await connectClient(gw.url);
  t.teardown(async () => {
    big.close();
    other.close();
    await gw.close();
    await redis.close();
  });
  const reasons: string[] = [];
  big.on('disconnect', (reason) => reasons.push(reason));
  big.emit('subscribe-server-metrics', { serverId: 'x'.repeat(100_000) });
  await waitFor(() => reasons.length === 1, { message: 'the oversized sender to be cut off' });
  t.equal(other.connected, true, 'the other client stays connected');
  t.match(await emitAck(other, 'ping'), { ok: true });
});

t.test('a client over its event rate gets RATE_LIMITED acks, others are unaffected', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { eventsPerSecond: 1, eventBurst: 5 });
  const noisy = await connectClient(gw.url);
  const calm = await connectClient(gw.url);
  t.teardown(async () => {
    noisy.close();
    calm.close();
    await gw.close();
    await redis.close();
  });
  const acks = await Promise.all(Array.from({ length: 20 }, () => emitAck<{ ok: boolean; error?: { code: string } }>(noisy, 'ping')));
  const limited = acks.filter((a) => a.error?.code === ErrorCodes.RATE_LIMITED).length;
  t.ok(limited >= 10, `most of a burst past the budget is limited (${limited} of 20)`);
  t.ok(acks.filter((a) => a.ok).length >= 5, 'the budget itself is served');
  t.match(await emitAck(calm, 'ping'), { ok: true }, 'another client is not limited');
});

t.test('too many rooms for one client; every room a subscription takes counts', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { maxRoomsPerSocket: 7 });
  const collector = new FakeCollector(redis.url);
  const client = await connectClient(gw.url);
  t.teardown(async () => {
    client.close();
    await collector.close();
    await gw.close();
    await redis.close();
  });
  await collector.register(['a', 'b', 'c', 'd', 'logs']);
  for (const id of ['a', 'b', 'c']) t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: id }), { ok: true });
  // A log subscription at level L is one room per level from L up: 6 at trace.
  const logs = (level: string) => emitAck(client, 'subscribe-server-logs', { serverId: 'logs', level });
  t.match(await logs('trace'), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } }, 'logs at trace: 3 + 6 rooms > 7');
  t.match(await logs('warn'), { ok: true }, 'logs at warn: 3 + 3 rooms');
  t.match(await logs('debug'), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } }, 'widening to debug would take 3 + 5');
  t.match(await logs('error'), { ok: true }, 'narrowing to error frees a room: 3 + 2');
  t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: 'd' }), { ok: true }, '4 + 2 rooms');
  t.match(await logs('info'), { ok: false, error: { code: ErrorCodes.TOO_MANY_ROOMS } }, 'info would take 4 + 4');
  t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: 'a' }), { ok: true }, 're-subscribing to a held room is fine');
});

t.test('a burst of subscribes sent at once cannot pass the room limit together', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { maxRoomsPerSocket: 5 });
  const collector = new FakeCollector(redis.url);
  const client = await connectClient(gw.url);
  t.teardown(async () => {
    client.close();
    await collector.close();
    await gw.close();
    await redis.close();
  });
  const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
  await collector.register(ids);
  // All sent before any is answered: each awaits Redis (is it registered?) before joining.
  const acks = await Promise.all(ids.map((serverId) => emitAck(client, 'subscribe-server-metrics', { serverId })));
  t.equal(acks.filter((a) => a.ok).length, 5, 'exactly the limit accepted');
  t.ok(acks.filter((a) => !a.ok).every((a) => a.error?.code === ErrorCodes.TOO_MANY_ROOMS), 'the rest: TOO_MANY_ROOMS');
  const status = await emitAck<{ subscribedRooms: string[] }>(client, 'get-connection-status');
  t.equal(status.subscribedRooms.length, 5, 'the client holds 5 rooms');
});
