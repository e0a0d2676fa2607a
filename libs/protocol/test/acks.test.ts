import t from 'tap';
import { Acks, ClientEvents, compile, type AckOf } from '../src/index.js';

const metricsAck = compile(Acks[ClientEvents.subscribeServerMetrics]);

t.test('an ok ack with exactly its fields matches, a drifted one does not', async (t) => {
  const ok: AckOf<'subscribe-server-metrics'> = {
    ok: true,
    room: 'server-metrics-web-1',
    serverId: 'web-1',
    interval: 5000,
    timestamp: new Date().toISOString(),
    latest: true,
  };
  t.equal(metricsAck.explain(ok), null);
  t.match(metricsAck.explain({ ...ok, extra: 1 }), /extra|additional/i, 'an unknown field is a drift');
  t.not(metricsAck.explain({ ...ok, latest: 'yes' }), null, 'a field of the wrong type');
  const { interval: _, ...missing } = ok;
  t.not(metricsAck.explain(missing), null, 'a missing field');
});

t.test('the error form is valid for every event', async (t) => {
  for (const [event, schema] of Object.entries(Acks)) {
    const check = compile(schema);
    t.equal(check.explain({ ok: false, error: { code: 'VIGIL_ERR_INVALID_PAYLOAD', message: 'no' } }), null, event);
    t.not(check.explain({ ok: false, error: { code: 'X' }, extra: true }), null, `${event}: a malformed error`);
  }
  t.same(Object.keys(Acks).sort(), Object.values(ClientEvents).sort(), 'every client event has an ack schema');
});

t.test('without code generation (for a browser under a strict CSP) the verdicts are the same', async (t) => {
  const interpreted = compile(Acks[ClientEvents.subscribeServerMetrics], { codegen: false });
  const ok = { ok: true, room: 'server-metrics-a', serverId: 'a', interval: 100, timestamp: 'now', latest: false };
  t.equal(interpreted.explain(ok), null);
  t.equal(interpreted.explain({ ...ok, extra: 1 }), metricsAck.explain({ ...ok, extra: 1 }));
  t.equal(interpreted.check({ ...ok, interval: 5 }), false, 'below the interval bound');
});
