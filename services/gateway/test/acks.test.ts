// The ack contract, held to the gateway's real answers: every client event is driven through a
// real gateway, in its ok forms and its error forms, and each ack must match the event's schema
// in @vigil/protocol (`Acks[event]`). An ack a client would reject fails here first.
import t, { type Test } from 'tap';
import { Acks, ClientEvents, ErrorCodes, compile, logsRoom, metricsRoom, type AckEvent, type HostMetrics } from '@vigil/protocol';
import { HostWriter } from '@vigil/store';
import type { Socket } from 'socket.io-client';
import { emitAck, startStack, testToken } from './helpers.js';

type Case = { name: string; args: unknown[]; ok: boolean; code?: string; warning?: string };

const checks = Object.fromEntries(Object.entries(Acks).map(([event, schema]) => [event, compile(schema)])) as {
  [E in AckEvent]: ReturnType<typeof compile<(typeof Acks)[E]>>;
};

async function holdsContract(t: Test, client: Socket, event: AckEvent, cases: Case[]): Promise<void> {
  for (const c of cases) {
    const ack = await emitAck<{ ok: boolean; error?: { code: string }; warning?: { code: string } }>(client, event, ...c.args);
    t.equal(checks[event].explain(ack), null, `${event}, ${c.name}: the ack matches its schema`);
    t.equal(ack.ok, c.ok, `${event}, ${c.name}: ok is ${c.ok}`);
    if (c.code) t.equal(ack.error?.code, c.code, `${event}, ${c.name}: code ${c.code}`);
    if (c.warning) t.equal(ack.warning?.code, c.warning, `${event}, ${c.name}: warning ${c.warning}`);
  }
}

t.test('every client event, ok and refused, answers the ack its schema describes', async (t) => {
  // Every room counts: api and quiet metrics (2) + api logs at trace (6) fill 8.
  const stack = await startStack(t, { gateway: { maxRoomsPerSocket: 8 } });
  const { collector } = stack;
  await collector.sample('api', 1);
  await collector.register(['quiet', 'other']);
  const positions = await collector.lines('api', [
    { level: 'info', message: 'one' },
    { level: 'error', message: 'two' },
  ]);
  const client = await stack.client();
  // The refreshed token also sees hosts: the host events come after refresh-token below.
  const fresh = await testToken({ sub: 'test-all', vigil: { servers: ['*'], logs: true, hosts: ['*'] } });
  const data: HostMetrics = {
    cpu: { total: 1, cores: [1], count: 1 },
    load: { one: 0, five: 0, fifteen: 0 },
    memory: { total: 1, available: 1, used: 0, swapTotal: 0, swapUsed: 0 },
    uptime: 1,
    network: { rxBytesPerSec: 0, txBytesPerSec: 0, interfaces: [], count: 0 },
    mounts: [],
    timestamp: new Date().toISOString(),
  };
  await new HostWriter(collector.redis, { uid: 'acks-test', maxLen: 10 }).write({ host: 'box', collectorId: 'c', data, timestamp: data.timestamp }, Date.now());
  const expired = await testToken({ sub: 'test-all', now: Date.now() - 7_200_000 });

  const cases: Record<AckEvent, Case[]> = {
    [ClientEvents.subscribeServerMetrics]: [
      { name: 'with a latest sample', args: [{ serverId: 'api', interval: 1000 }], ok: true },
      { name: 'without one', args: [{ serverId: 'quiet' }], ok: true },
      { name: 'a server never registered', args: [{ serverId: 'nobody' }], ok: false, code: ErrorCodes.UNKNOWN_SERVER },
      { name: 'an invalid payload', args: [{ serverId: 12 }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
      { name: 'two payloads', args: [{ serverId: 'api' }, {}], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.subscribeServerLogs]: [
      { name: 'live only', args: [{ serverId: 'api', level: 'warn' }], ok: true },
      { name: 'with backfill', args: [{ serverId: 'api', backfill: 10 }], ok: true },
      { name: 'since a position', args: [{ serverId: 'api', since: positions[0] }], ok: true },
      { name: 'past the room limit', args: [{ serverId: 'other' }], ok: false, code: ErrorCodes.TOO_MANY_ROOMS },
      { name: 'since and backfill', args: [{ serverId: 'api', since: '1-0', backfill: 1 }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribeServerMetrics]: [
      { name: 'a held room', args: [{ serverId: 'quiet' }], ok: true },
      { name: 'a room not held', args: [{ serverId: 'never' }], ok: true },
      { name: 'an invalid payload', args: [{}], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribeServerLogs]: [
      { name: 'a held room', args: [{ serverId: 'api' }], ok: true },
      { name: 'an invalid payload', args: [{ serverId: '' }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribe]: [
      { name: 'a metrics room', args: [{ room: metricsRoom('api') }], ok: true },
      { name: 'a logs room not held', args: [{ room: logsRoom('api') }], ok: true },
      { name: 'not a vigil room', args: [{ room: 'lobby' }], ok: false, code: ErrorCodes.UNKNOWN_ROOM },
      { name: 'the alerts room, not held', args: [{ room: 'alerts' }], ok: true },
    ],
    [ClientEvents.getConnectionStatus]: [
      { name: 'no payload', args: [], ok: true },
      { name: 'a payload', args: [{ verbose: true }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.ping]: [
      { name: 'with a timestamp', args: [{ timestamp: 123 }], ok: true },
      { name: 'without', args: [], ok: true },
      { name: 'an invalid payload', args: [42], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.refreshToken]: [
      { name: 'a fresh token', args: [{ token: fresh }], ok: true },
      { name: 'an expired token', args: [{ token: expired }], ok: false, code: ErrorCodes.TOKEN_EXPIRED },
      { name: 'not a token', args: [{ token: 'nope' }], ok: false, code: ErrorCodes.UNAUTHORIZED },
      { name: 'an invalid payload', args: [{}], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.subscribeAlerts]: [
      { name: 'every server', args: [{}], ok: true },
      { name: 'one server, covered by every server', args: [{ serverId: 'api', severity: 'critical' }], ok: true },
      { name: 'an unknown severity', args: [{ severity: 'huge' }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribeAlerts]: [
      { name: 'every server', args: [{}], ok: true },
      { name: 'no payload', args: [], ok: true },
      { name: 'an invalid payload', args: [{ serverId: 5 }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.subscribeSystemMetrics]: [
      { name: 'a sampled host', args: [{ host: 'box', interval: 1000 }], ok: true },
      { name: 'a host never sampled', args: [{ host: 'nowhere' }], ok: false, code: ErrorCodes.UNKNOWN_HOST },
      { name: 'an invalid payload', args: [{ host: 'no such host' }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribeSystemMetrics]: [
      { name: 'a held room', args: [{ host: 'box' }], ok: true },
      { name: 'an invalid payload', args: [{}], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.subscribeFleet]: [
      { name: 'every server', args: [{}], ok: true },
      { name: 'a filter, replacing', args: [{ filter: { id: 'a*', status: ['running'] } }], ok: true },
      { name: 'an invalid filter', args: [{ filter: { id: 'a b' } }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
    [ClientEvents.unsubscribeFleet]: [
      { name: 'subscribed', args: [{}], ok: true },
      { name: 'an invalid payload', args: [{ filter: {} }], ok: false, code: ErrorCodes.INVALID_PAYLOAD },
    ],
  };
  t.same(Object.keys(cases).sort(), Object.values(ClientEvents).sort(), 'every client event is covered');
  // In this order: the subscribes fill the room limit (api metrics, quiet metrics, api logs at trace).
  for (const event of Object.keys(cases) as AckEvent[]) await holdsContract(t, client, event, cases[event]);
});

t.test('acks during a Redis outage and over the event rate match their schemas too', async (t) => {
  const stack = await startStack(t, { gateway: { eventsPerSecond: 1, eventBurst: 3 } });
  const client = await stack.client();
  await stack.redis.stop();
  await holdsContract(t, client, ClientEvents.subscribeServerMetrics, [
    { name: 'latest unreadable', args: [{ serverId: 'api' }], ok: true, warning: ErrorCodes.REDIS_UNAVAILABLE },
  ]);
  await holdsContract(t, client, ClientEvents.subscribeServerLogs, [
    { name: 'history unreadable', args: [{ serverId: 'api', backfill: 5 }], ok: false, code: ErrorCodes.REDIS_UNAVAILABLE },
  ]);
  await holdsContract(t, client, ClientEvents.subscribeFleet, [{ name: 'fleet unreadable', args: [{}], ok: false, code: ErrorCodes.REDIS_UNAVAILABLE }]);
  const acks = await Promise.all(Array.from({ length: 5 }, () => emitAck(client, ClientEvents.ping)));
  const limited = acks.filter((a) => a.error?.code === ErrorCodes.RATE_LIMITED);
  t.ok(limited.length > 0, `over the rate, pings are refused (${limited.length} of 5)`);
  for (const ack of acks) t.equal(checks.ping.explain(ack), null, `ping ack ${JSON.stringify(ack).slice(0, 60)} matches its schema`);
});
