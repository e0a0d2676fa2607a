// Every ack the client receives is held to the protocol's schema (`Acks[event]`): a gateway whose
// answer drifted — a field the protocol does not know, one of another type, one missing — makes
// the request fail with VIGIL_ERR_CLIENT_BAD_REPLY naming the field, instead of feeding the
// client something it would misread. A fake gateway (a real socket.io server) says the drift.
import t from 'tap';
import { ClientEvents } from '@vigil/protocol';
import { ClientErrorCodes } from '../src/index.js';
import { startClient, type Teardown } from './fixtures/cluster.js';
import { startFakeGateway } from './fixtures/fake-gateway.js';

const NOW = '2026-12-01T00:00:00.000Z';
const metricsAck = { ok: true, room: 'server-metrics-api', serverId: 'api', interval: 5000, timestamp: NOW, latest: false };
const logsAck = { ok: true, room: 'server-logs-api', serverId: 'api', level: 'trace', timestamp: NOW, replayed: 0, gap: false, more: false };

/** A gateway answering every subscribe with `metrics` / `logs`, and a client on it. */
async function clientAnswered(t: Teardown, metrics: unknown, logs: unknown = logsAck) {
  const gw = await startFakeGateway(t, (nsp) =>
    nsp.on('connection', (socket) => {
      socket.on(ClientEvents.subscribeServerMetrics, (_payload: unknown, ack: (reply: unknown) => void) => ack(metrics));
      socket.on(ClientEvents.subscribeServerLogs, (_payload: unknown, ack: (reply: unknown) => void) => ack(logs));
    }),
  );
  const { client } = startClient(gw.url);
  t.teardown(() => client.close());
  return client;
}

t.test('an ack as the protocol says is accepted', async (t) => {
  const client = await clientAnswered(t, metricsAck);
  const metrics = await client.subscribeMetrics('api');
  t.equal(metrics.active, true, 'the metrics subscription is active');
  const logs = await client.subscribeLogs('api', { onLine() {} });
  t.equal(logs.active, true, 'the logs subscription is active');
  const refused = await clientAnswered(t, { ok: false, error: { code: 'VIGIL_ERR_SERVER_NOT_FOUND', message: 'no such server' } });
  await t.rejects(refused.subscribeMetrics('api'), { code: 'VIGIL_ERR_SERVER_NOT_FOUND', message: 'no such server' }, 'a well-formed refusal passes its code through');
});

const drifts: Array<[string, Record<string, unknown>, RegExp]> = [
  ['an extra field', { ...metricsAck, sampled: true }, /sampled/],
  ['a field of another type', { ...metricsAck, latest: 'yes' }, /latest/],
  ['a missing field', (({ interval: _, ...rest }) => rest)(metricsAck), /interval/],
  ['a refusal without its message', { ok: false, error: { code: 'VIGIL_ERR_FORBIDDEN' } }, /message/],
];

for (const [what, reply, field] of drifts) {
  t.test(`a metrics ack with ${what} fails the subscribe with BAD_REPLY naming the field`, async (t) => {
    const client = await clientAnswered(t, reply);
    await t.rejects(client.subscribeMetrics('api'), { code: ClientErrorCodes.BAD_REPLY, message: field });
  });
}

t.test('a logs ack that drifted fails the subscribe with BAD_REPLY naming the field', async (t) => {
  const client = await clientAnswered(t, metricsAck, { ...logsAck, replayed: -1 });
  await t.rejects(client.subscribeLogs('api', { onLine() {} }), { code: ClientErrorCodes.BAD_REPLY, message: /replayed/ });
  const other = await clientAnswered(t, metricsAck, { ...logsAck, cursor: '1-0' });
  await t.rejects(other.subscribeLogs('api', { onLine() {} }), { code: ClientErrorCodes.BAD_REPLY, message: /cursor/ });
});
