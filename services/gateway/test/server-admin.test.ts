// DELETE /api/servers/:id: an admin removes a server at once, with all its keys, and its watchers
// on every gateway hear `server-removed` once; anyone else is refused.
import t from 'tap';
import { ErrorCodes, Keys, ServerEvents, ServerRemoved, compile, serverDataKeys, type ServerRemoved as Removed } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { collect, emitAck, startStack, testToken } from './helpers.js';

const checkRemoved = compile(ServerRemoved);

t.test('an admin deletes a server: gone from Redis, its watchers on two gateways told once', async (t) => {
  const stack = await startStack(t, { gateways: 2 });
  const [a, b] = stack.pair();
  await stack.collector.sample('doomed-1', 1);
  await stack.collector.lines('doomed-1', [{ level: 'info', message: 'hello' }]);
  await stack.collector.sample('kept-1', 1);
  const onA = await stack.client(a);
  const onB = await stack.client(b);
  const removedA = collect<Removed>(onA, ServerEvents.serverRemoved);
  const removedB = collect<Removed>(onB, ServerEvents.serverRemoved);
  // A watches metrics and logs (several rooms of the server), B metrics only; both hear it once.
  t.match(await emitAck(onA, 'subscribe-server-metrics', { serverId: 'doomed-1' }), { ok: true });
  t.match(await emitAck(onA, 'subscribe-server-logs', { serverId: 'doomed-1', level: 'debug' }), { ok: true });
  t.match(await emitAck(onB, 'subscribe-server-metrics', { serverId: 'doomed-1' }), { ok: true });
  t.match(await emitAck(onB, 'subscribe-server-metrics', { serverId: 'kept-1' }), { ok: true });

  const admin = await testToken({ sub: 'ops', vigil: { servers: ['*'], admin: true } });
  const res = await a.inject({ method: 'DELETE', url: '/api/servers/doomed-1', headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { serverId: 'doomed-1', reason: 'deleted' });
  t.ok(checkRemoved.check(res.json()), 'the reply is a server-removed payload');

  await waitFor(() => removedA.length >= 1 && removedB.length >= 1, { message: 'both gateways tell their watchers' });
  // A later event on the same rooms proves nothing else was on its way.
  await stack.collector.sample('kept-1', 2);
  await waitFor(async () => (await emitAck<{ ok: boolean }>(onB, 'get-connection-status')).ok, { message: 'round trip' });
  t.equal(removedA.length, 1, 'a watcher in several rooms of the server hears it once');
  t.equal(removedB.length, 1);
  t.ok(removedA.every((e) => checkRemoved.check(e) && e.serverId === 'doomed-1' && e.reason === 'deleted'));

  const r = stack.collector.redis;
  t.equal(await r.hexists(Keys.registry, 'doomed-1'), 0, 'registry entry gone');
  t.equal(await r.zscore(Keys.heartbeats, 'doomed-1'), null, 'heartbeat gone');
  t.equal(await r.exists(...serverDataKeys('doomed-1')), 0, 'latest and streams gone');
  t.equal((await r.scan('0', 'MATCH', '*doomed-1*', 'COUNT', 1000))[1].length, 0, 'no key names it');
  t.equal(await r.hexists(Keys.registry, 'kept-1'), 1, 'the other server stays');
  t.equal((await b.inject('/api/servers/doomed-1')).statusCode, 404, 'every gateway answers 404 now');

  const again = await a.inject({ method: 'DELETE', url: '/api/servers/doomed-1', headers: { authorization: `Bearer ${admin}` } });
  t.equal(again.statusCode, 404, 'deleting it again: 404');
  t.match(again.json(), { error: { code: ErrorCodes.SERVER_NOT_FOUND } });
});

t.test('only an admin may delete; a server the admin cannot see is not found', async (t) => {
  const stack = await startStack(t);
  await stack.collector.sample('web-1', 1);
  const del = async (token: string, id = 'web-1') =>
    stack.gw.inject({ method: 'DELETE', url: `/api/servers/${id}`, headers: { authorization: `Bearer ${token}` } });

  for (const [what, token] of [
    ['a token without admin', await testToken({ vigil: { servers: ['*'], logs: true } })],
    ['admin: false', await testToken({ vigil: { servers: ['*'], admin: false } })],
  ] as const) {
    const res = await del(token);
    t.equal(res.statusCode, 403, `${what}: 403`);
    t.match(res.json(), { error: { code: ErrorCodes.FORBIDDEN, message: /admin/ } }, `${what}: vigil's error shape`);
    const other = await del(token, 'no-such-server');
    t.equal(other.statusCode, 403, `${what}: 403 for an unknown server too (nothing to probe)`);
  }
  const none = await stack.gw.app.inject({ method: 'DELETE', url: '/api/servers/web-1' });
  t.equal(none.statusCode, 401, 'no token: 401');

  const narrowAdmin = await testToken({ vigil: { servers: ['db-*'], admin: true } });
  const hidden = await del(narrowAdmin);
  t.equal(hidden.statusCode, 404, 'an admin of other servers: 404');
  t.match(hidden.json(), { error: { code: ErrorCodes.SERVER_NOT_FOUND } });

  const admin = await testToken({ vigil: { servers: ['*'], admin: true } });
  t.equal((await del(admin, 'no-such-server')).statusCode, 404, 'unknown server: 404');
  const bad = await del(admin, 'bad id!');
  t.equal(bad.statusCode, 400, 'an invalid id: 400');
  t.match(bad.json(), { error: { code: ErrorCodes.INVALID_PARAMS } });
  t.equal(await stack.collector.redis.hexists(Keys.registry, 'web-1'), 1, 'nothing was removed by the refusals');
  t.equal((await del(admin)).statusCode, 200, 'the admin may');
});
