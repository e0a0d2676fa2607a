// Who may see what, from the client's side: the token goes in the handshake of every (re)connect
// (a provider is asked each time), a `token-expiring` warning is answered with `refresh-token`,
// rooms a new token no longer allows end with FORBIDDEN, and a token refused or expired stops the
// client (state `unauthorized`) until the application gives another. Against a small gateway that
// checks tokens as the real one is specified to (test/fixtures/auth-gateway.ts).
import t from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import type { Namespace } from 'socket.io';
import { waitFor } from '@vigil/testkit';
import { ClientErrorCodes, type VigilClientError, type VigilClientEvents, type VigilClientOptions } from '../src/index.js';
import { startAuthGateway, type AuthGateway } from './fixtures/auth-gateway.js';
import { startFakeGateway } from './fixtures/fake-gateway.js';
import { startClientAsGiven, stateNames, type Teardown } from './fixtures/cluster.js';

const SERVERS = ['api', 'db', 'web-1'];
/** Longer than any retry the test client would make (its backoff is capped at 300 ms). */
const RETRY_WINDOW_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(t: Teardown, options: Partial<VigilClientOptions>, warnMs = 60_000) {
  const gw = await startAuthGateway(t, { servers: SERVERS, warnMs });
  const { client, states } = startClientAsGiven(gw.url, options);
  t.teardown(() => client.close());
  const events: Array<[keyof VigilClientEvents, unknown]> = [];
  for (const name of ['disconnect-reason', 'token-expiring', 'token-refreshed', 'token-refresh-failed'] as const) {
    client.on(name, (value) => events.push([name, value]));
  }
  return { gw, client, states, events };
}

/** Drops the socket's transport: socket.io-client reconnects by itself. */
function dropConnections(gw: AuthGateway): void {
  for (const socket of gw.sockets()) socket.conn.close();
}

t.test('the token goes in the handshake, and the provider is asked again on every reconnect', async (t) => {
  let calls = 0;
  const { gw, client, states } = await setup(t, { token: async () => `tok-${++calls}` });
  gw.grants.set('tok-1', { servers: ['*'] });
  gw.grants.set('tok-2', { servers: ['*'] });
  await waitFor(() => client.state.name === 'connected', { message: 'connected with tok-1' });
  t.same(gw.handshakes, ['tok-1'], 'the first handshake carried the provider’s token');
  const metrics = await client.subscribeMetrics('api');

  dropConnections(gw);
  await waitFor(() => gw.handshakes.length === 2 && client.state.name === 'connected', { message: 'reconnected' });
  t.same(gw.handshakes, ['tok-1', 'tok-2'], 'the reconnect asked the provider again and sent its new token');
  await waitFor(() => gw.subscribes.filter((s) => s === 'metrics api').length === 2, { message: 'the subscription re-joined' });
  t.equal(metrics.active, true, 'the subscription is still active');
  t.same(stateNames(states), ['connected', 'reconnecting', 'connected']);
});

t.test('token-expiring: the provider’s new token is sent with refresh-token and the connection outlives the old one', async (t) => {
  let current = 'short';
  const { gw, client, events } = await setup(t, { token: () => current }, 400);
  gw.grants.set('short', { servers: ['*'], logs: true, expiresAt: Date.now() + 800 });
  gw.grants.set('long', { servers: ['*'], logs: true });
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  const metrics = await client.subscribeMetrics('api');
  current = 'long';

  await waitFor(() => events.some(([name]) => name === 'token-refreshed'), { message: 'the refresh to be accepted' });
  t.same(gw.refreshes, ['long'], 'refresh-token carried the provider’s new token');
  t.match(events.map(([name]) => name), ['token-expiring', 'token-refreshed'], 'token-expiring, then token-refreshed');
  t.match(events[1]![1], { expiresAt: String, left: [] }, 'with the new expiry and no room left');
  // Past the first token's expiry: still connected, no disconnect-reason.
  await waitFor(() => Date.now() > (gw.grants.get('short')!.expiresAt ?? 0) + 300, { message: 'the first token’s expiry to pass' });
  t.equal(client.state.name, 'connected', 'still connected after the first token expired');
  t.equal(metrics.active, true, 'the subscription holds');
  t.notOk(events.some(([name]) => name === 'disconnect-reason'), 'the gateway did not end the connection');
});

t.test('rooms a refreshed token no longer allows end with FORBIDDEN; the others hold', async (t) => {
  let current = 'all';
  const { gw, client } = await setup(t, { token: () => current });
  gw.grants.set('all', { servers: ['*'], logs: true });
  gw.grants.set('api-only', { servers: ['api'] });
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  const errors: VigilClientError[] = [];
  const api = await client.subscribeMetrics('api', { onError: (e) => errors.push(e) });
  const db = await client.subscribeMetrics('db', { onError: (e) => errors.push(e) });
  const logs = await client.subscribeLogs('api', { onLine() {}, onError: (e) => errors.push(e) });

  current = 'api-only';
  await client.setToken(() => current);
  t.same(gw.refreshes, ['api-only'], 'setToken while connected refreshes at once');
  t.equal(api.active, true, 'metrics of api still allowed');
  t.equal(db.active, false, 'metrics of db ended');
  t.equal(logs.active, false, 'logs of api ended (the new token has no logs permission)');
  t.same(errors.map((e) => e.code), [ErrorCodes.FORBIDDEN, ErrorCodes.FORBIDDEN], 'each ended one reported FORBIDDEN to its onError');
});

t.test('at expiry without a new token: disconnect-reason, state unauthorized, no reconnect until setToken()', async (t) => {
  const { gw, client, states, events } = await setup(t, { token: 'brief' }, 200);
  gw.grants.set('brief', { servers: ['*'], expiresAt: Date.now() + 500 });
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  const metrics = await client.subscribeMetrics('api');

  await waitFor(() => client.state.name === 'unauthorized', { message: 'the client to stop at expiry' });
  t.match(client.state, { name: 'unauthorized', code: ErrorCodes.TOKEN_EXPIRED }, 'state unauthorized, with the expiry code');
  const failed = events.find(([name]) => name === 'token-refresh-failed')?.[1] as VigilClientError | undefined;
  t.equal(failed?.code, ClientErrorCodes.TOKEN_UNAVAILABLE, 'the warning could not be answered: no newer token');
  t.same(gw.refreshes, [], 'the same token was not sent again');
  t.match(events.find(([name]) => name === 'disconnect-reason')?.[1], { code: ErrorCodes.TOKEN_EXPIRED, message: String }, 'disconnect-reason surfaced');

  await sleep(RETRY_WINDOW_MS); // the window in which a reconnect would have come
  t.equal(gw.handshakes.length, 1, 'no reconnect attempt after the expiry');
  t.equal(client.state.name, 'unauthorized', 'still unauthorized');

  gw.grants.set('fresh', { servers: ['*'] });
  await client.setToken('fresh');
  await waitFor(() => client.state.name === 'connected', { message: 'connected again with the new token' });
  t.equal(gw.handshakes.at(-1), 'fresh', 'the reconnect carried the new token');
  await waitFor(() => gw.subscribes.filter((s) => s === 'metrics api').length === 2, { message: 'the subscription re-joined' });
  t.equal(metrics.active, true, 'the subscription survived the expiry');
  t.same(stateNames(states), ['connected', 'unauthorized', 'connecting', 'connected']);
});

t.test('a refused handshake stops the client as unauthorized; a pending subscribe waits for a good token', async (t) => {
  const { gw, client } = await setup(t, {});
  await waitFor(() => client.state.name === 'unauthorized', { message: 'refused without a token' });
  t.match(client.state, { name: 'unauthorized', code: ErrorCodes.UNAUTHORIZED, message: /token/ });
  const pending = client.subscribeMetrics('api');
  await sleep(RETRY_WINDOW_MS); // the window in which a reconnect would have come
  t.same(gw.handshakes, [undefined], 'no reconnect attempt while unauthorized');

  await client.setToken('wrong');
  await waitFor(() => gw.handshakes.length === 2 && client.state.name === 'unauthorized', { message: 'refused again' });
  gw.grants.set('right', { servers: ['*'] });
  await client.setToken('right');
  const metrics = await pending;
  t.equal(metrics.active, true, 'the subscribe made while unauthorized completed once a good token came');
  t.same(gw.handshakes, [undefined, 'wrong', 'right']);

  await client.setToken(null);
  t.match(client.state, { name: 'unauthorized', code: ErrorCodes.UNAUTHORIZED }, 'setToken(null) disconnects and stays away');
  await waitFor(() => gw.sockets().length === 0, { message: 'the gateway saw the socket go' });
});

t.test('subscribes refused with FORBIDDEN or UNKNOWN_SERVER reject with that code and are not retried on reconnect', async (t) => {
  const { gw, client } = await setup(t, { token: 'web' });
  gw.grants.set('web', { servers: ['web-*'] });
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  await t.rejects(client.subscribeMetrics('db'), { code: ErrorCodes.FORBIDDEN }, 'a server outside the token’s globs');
  await t.rejects(client.subscribeLogs('web-1', { onLine() {} }), { code: ErrorCodes.FORBIDDEN }, 'logs without the logs permission');
  await t.rejects(client.subscribeMetrics('web-9'), { code: ErrorCodes.UNKNOWN_SERVER }, 'an unknown server');
  const allowed = await client.subscribeMetrics('web-1');

  dropConnections(gw);
  await waitFor(() => gw.subscribes.filter((s) => s === 'metrics web-1').length === 2, { message: 'the allowed subscription re-joined' });
  t.equal(allowed.active, true);
  t.same(gw.subscribes.filter((s) => s !== 'metrics web-1'), ['metrics db', 'logs web-1', 'metrics web-9'], 'the refused ones were asked once only');
});

t.test('a disconnect-reason that is not about the token is surfaced, and the client reconnects', async (t) => {
  const { gw, client, events } = await setup(t, { token: 'ok' });
  gw.grants.set('ok', { servers: ['*'] });
  await waitFor(() => client.state.name === 'connected', { message: 'connected' });
  for (const socket of gw.sockets()) {
    socket.emit('disconnect-reason', { code: ErrorCodes.SLOW_CONSUMER, message: 'too far behind' });
    socket.disconnect(true);
  }
  await waitFor(() => gw.handshakes.length === 2 && client.state.name === 'connected', { message: 'reconnected' });
  t.same(events, [['disconnect-reason', { code: ErrorCodes.SLOW_CONSUMER, message: 'too far behind' }]]);
});

t.test('refusals that are not about the token: TOO_MANY_CONNECTIONS is retried, ORIGIN_REFUSED stops the client', async (t) => {
  const refuseWith = (code: string, times: number) => {
    let seen = 0;
    return (nsp: Namespace) =>
      nsp.use((_socket, next) => {
        if (seen++ < times) next(Object.assign(new Error(code), { data: { code, message: `refused: ${code}` } }));
        else next();
      });
  };
  const busy = await startFakeGateway(t, refuseWith(ErrorCodes.TOO_MANY_CONNECTIONS, 2));
  const retried = startClientAsGiven(busy.url);
  t.teardown(() => retried.client.close());
  await waitFor(() => retried.client.state.name === 'connected', { message: 'connected after two refusals' });
  t.same(stateNames(retried.states), ['reconnecting', 'connected'], 'retried with backoff, then connected');

  const strict = await startFakeGateway(t, refuseWith(ErrorCodes.ORIGIN_REFUSED, Infinity));
  const stopped = startClientAsGiven(strict.url);
  t.teardown(() => stopped.client.close());
  await waitFor(() => stopped.client.state.name === 'offline', { message: 'the client to stop' });
  t.same(stopped.client.state, { name: 'offline', reason: 'refused' });
  await sleep(RETRY_WINDOW_MS); // the window in which a reconnect would have come
  t.equal(stopped.client.state.name, 'offline', 'no reconnect after the origin was refused');
});
