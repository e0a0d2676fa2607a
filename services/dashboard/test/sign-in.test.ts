// Signing in and out, in headless Chromium: a `#token=` link is moved to sessionStorage and out of
// the address bar, who is signed in is shown (escaped), the token goes in the socket handshake and
// as a REST bearer and never in a URL, sign-out shows the sign-in screen, a pasted token signs in
// again. What a gateway that checks tokens says — a 401, `token-expiring`, `disconnect-reason`,
// FORBIDDEN — is put on the wire by the test (Playwright's request and WebSocket routing), so these
// pages talk to a gateway with `auth: { mode: 'none' }` (which ignores tokens) and use unsigned
// tokens that only the dashboard decodes. The last test signs in against a gateway that verifies.
import t from 'tap';
import type { Page, WebSocketRoute } from 'playwright-core';
import { waitFor } from '@vigil/testkit';
import {
  Chatty,
  DESKTOP,
  assertQuietConsole,
  launchBrowser,
  openPage,
  redis,
  screenshot,
  startCollector,
  startGateway,
  testToken,
  unsignedToken,
} from './helpers.js';

const r = await redis(t);
// Tokens here are unsigned: the routed tests speak for the gateway themselves.
const gateway = await startGateway(r.url, 0, { auth: { mode: 'none' } });
t.teardown(() => gateway.close());
const chatty = await Chatty.create();
startCollector(t, r.url, 'signin', chatty.commandFlag('chatty'));
await chatty.ready();
const browser = await launchBrowser(t);
const base = gateway.url;

const hour = () => Math.floor(Date.now() / 1000) + 3600;
const stored = (page: Page) => page.evaluate(() => sessionStorage.getItem('vigil.token'));
const signInScreen = (page: Page) => page.getByRole('heading', { name: 'Sign in to vigil' });

t.test('a #token= link signs in: the token moves to sessionStorage, leaves the address bar, and is sent as auth, never in a URL', async (t) => {
  const token = unsignedToken({ sub: 'alice <img src=x onerror=alert(1)>', exp: hour(), vigil: { servers: ['chatty', 'web-*'], logs: false } });
  const { page, console } = await openPage(t, browser, 'about:blank', DESKTOP, null);
  const urls: string[] = [];
  const bearers: string[] = [];
  const sentFrames: string[] = [];
  page.on('request', (req) => {
    urls.push(req.url());
    if (req.url().includes('/api/')) bearers.push(req.headers()['authorization'] ?? '(none)');
  });
  page.on('websocket', (ws) => ws.on('framesent', (f) => sentFrames.push(String(f.payload))));

  await page.goto(`${base}/#token=${token}`);
  await page.locator('[data-testid="account"]').waitFor();
  t.equal(await page.evaluate(() => location.hash), '#/', 'the fragment was replaced by the servers route');
  t.notMatch(page.url(), 'token', 'the address bar no longer holds the token');
  t.equal(await stored(page), token, 'the token is in sessionStorage');

  t.equal(await page.locator('.account-subject').textContent(), 'alice <img src=x onerror=alert(1)>', 'the subject is shown as text');
  t.notMatch(await page.locator('.account').innerHTML(), '<img', 'and never as markup');
  t.match(await page.locator('.account-scope').textContent(), 'chatty, web-* · no logs', 'its server globs and logs permission are shown');

  // The list comes over the socket; the server page reads REST.
  await page.locator('.fleet-row[data-server-id="chatty"] .cell-id a').click();
  await waitFor(() => bearers.length > 0, { message: 'a REST call' });
  t.ok(bearers.every((b) => b === `Bearer ${token}`), `every REST call sent the token as a bearer (${bearers.length} calls)`);
  await waitFor(() => sentFrames.some((f) => f.startsWith('40/monitoring,')), { message: 'the socket handshake' });
  const handshake = sentFrames.find((f) => f.startsWith('40/monitoring,'))!;
  t.same(JSON.parse(handshake.slice('40/monitoring,'.length)), { token, vigilRestore: false }, 'the handshake carried the token');
  t.notOk(urls.some((u) => u.includes(token.split('.')[1]!)), 'no request URL carried the token');
  await screenshot(t, page, 'signed-in');
  assertQuietConsole(t, console);
});

t.test('sign-out shows the sign-in screen and forgets the token; a pasted token signs in again', async (t) => {
  const alice = unsignedToken({ sub: 'alice', exp: hour(), vigil: { servers: ['*'], logs: true } });
  const { page, console } = await openPage(t, browser, `${base}/#/`, DESKTOP, alice);
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  t.match(await page.locator('.account-scope').textContent(), '* · logs');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await signInScreen(page).waitFor();
  t.equal(await stored(page), null, 'the token left sessionStorage');
  t.match(await page.getByTestId('sign-in-reason').textContent(), 'You are signed out.');
  t.equal(await page.locator('.connection').count(), 0, 'no connection badge while signed out');
  await screenshot(t, page, 'sign-in');

  await page.getByRole('button', { name: 'Sign in' }).click();
  t.match(await page.locator('.sign-in-form .alert').textContent(), 'Paste a token first.', 'an empty paste is refused with a reason');

  const bob = unsignedToken({ sub: 'bob', exp: hour(), vigil: { servers: ['*'], logs: true } });
  await page.getByLabel('Access token').fill(` ${bob}\n`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  t.equal(await stored(page), bob, 'the pasted token (trimmed) is in sessionStorage');
  t.equal(await page.locator('.account-subject').textContent(), 'bob', 'signed in as bob');
  await waitFor(async () => /Connected/.test((await page.locator('.connection').textContent()) ?? ''), { message: 'connected again' });
  assertQuietConsole(t, console);
});

t.test('a REST 401 (token expired) returns to the sign-in screen with a message', async (t) => {
  const token = unsignedToken({ sub: 'carol', exp: hour(), vigil: { servers: ['*'] } });
  const { page, console } = await openPage(t, browser, `${base}/#/`, DESKTOP, token);
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  await page.route('**/api/servers/chatty**', (route) =>
    route.fulfill({ status: 401, json: { error: { code: 'VIGIL_ERR_TOKEN_EXPIRED', message: 'the token has expired' } } }),
  );
  await page.locator('.fleet-row[data-server-id="chatty"] .cell-id a').click();
  await signInScreen(page).waitFor();
  t.match(await page.getByTestId('sign-in-reason').textContent(), 'Your sign-in has expired', 'the sign-in screen says why');
  t.equal(await stored(page), null, 'the expired token was forgotten');
  assertQuietConsole(t, console, /status of 401/);
});

/**
 * Stands between the page and the gateway's socket: frames pass through, except the events the
 * test answers itself; the test can also speak as the gateway.
 */
async function interceptSocket(
  page: Page,
  answer: (event: string, payload: unknown) => unknown | undefined,
  refuse: (auth: Record<string, unknown>) => { code: string; message: string } | undefined = () => undefined,
) {
  const routes: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const server = ws.connectToServer();
    routes.push(ws);
    ws.onMessage((message) => {
      const frame = String(message);
      if (frame.startsWith('40/monitoring,')) {
        const refusal = refuse(JSON.parse(frame.slice('40/monitoring,'.length)) as Record<string, unknown>);
        if (refusal) return ws.send(`44/monitoring,${JSON.stringify({ message: refusal.message, data: refusal })}`);
      }
      const m = /^42\/monitoring,(\d+)(\[.*)$/s.exec(frame);
      if (m) {
        const [event, payload] = JSON.parse(m[2]!) as [string, unknown];
        const reply = answer(event, payload);
        if (reply !== undefined) return ws.send(`43/monitoring,${m[1]}${JSON.stringify([reply])}`);
      }
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });
  const current = () => routes[routes.length - 1]!;
  return {
    emit: (event: string, payload: unknown) => current().send(`42/monitoring,${JSON.stringify([event, payload])}`),
    /** A server-side disconnect of the namespace (socket.io-client does not reconnect by itself). */
    disconnect: () => current().send('41/monitoring,'),
    connected: () => routes.length > 0,
  };
}

t.test('the gateway speaks of auth: logs FORBIDDEN shows "not allowed", token-expiring shows a notice, expiry returns to sign-in', async (t) => {
  const token = unsignedToken({ sub: 'dave', exp: hour(), vigil: { servers: ['chatty'] } });
  const { page, console } = await openPage(t, browser, `${base}/#/`, DESKTOP, token);
  const refreshes: unknown[] = [];
  const socket = await interceptSocket(page, (event, payload) => {
    if (event === 'subscribe-server-logs') return { ok: false, error: { code: 'VIGIL_ERR_FORBIDDEN', message: 'this token does not allow logs' } };
    if (event === 'refresh-token') {
      refreshes.push(payload);
      return { ok: true, expiresAt: new Date(Date.now() + 3_600_000).toISOString(), left: [] };
    }
    return undefined;
  });
  await page.goto(`${base}/#/servers/chatty`);
  await page.reload(); // the socket opened before the routing was set up is replaced by a routed one
  await waitFor(() => socket.connected(), { message: 'the socket to be routed' });

  await page.getByTestId('logs-not-allowed').waitFor();
  t.match(await page.getByTestId('logs-not-allowed').textContent(), 'does not allow reading the logs', 'the tail says not allowed');
  t.equal(await page.locator('.tail .alert').count(), 0, 'instead of an error');
  t.ok(await page.locator('.charts').isVisible(), 'metrics are still shown');

  // A minute before expiry: the page has no newer token, so it asks for one.
  socket.emit('token-expiring', { expiresAt: new Date(Date.now() + 60_000).toISOString() });
  await page.getByTestId('expiry-notice').waitFor();
  t.match(await page.getByTestId('expiry-notice').textContent(), 'Paste a new token to stay signed in');
  const renewed = unsignedToken({ sub: 'dave', exp: hour() + 3600, vigil: { servers: ['chatty'] } });
  await page.getByLabel('New access token').fill(renewed);
  await page.getByRole('button', { name: 'Renew' }).click();
  await page.getByTestId('expiry-notice').waitFor({ state: 'detached' });
  t.same(refreshes, [{ token: renewed }], 'the new token went to the gateway with refresh-token');
  t.equal(await stored(page), renewed, 'and replaced the old one in sessionStorage');

  // Expiry: the gateway says why, then ends the connection.
  socket.emit('disconnect-reason', { code: 'VIGIL_ERR_TOKEN_EXPIRED', message: 'the token has expired' });
  socket.disconnect();
  await signInScreen(page).waitFor();
  t.match(await page.getByTestId('sign-in-reason').textContent(), 'Your sign-in has expired', 'the sign-in screen says the sign-in expired');
  await screenshot(t, page, 'sign-in-expired');
  assertQuietConsole(t, console);
});

t.test('a gateway that needs a token refuses the page without one: the sign-in screen says so, a pasted token gets in', async (t) => {
  const { page, console } = await openPage(t, browser, 'about:blank', DESKTOP, null);
  const handshakes: Array<Record<string, unknown>> = [];
  await interceptSocket(
    page,
    () => undefined,
    (auth) => {
      handshakes.push(auth);
      return typeof auth['token'] === 'string' ? undefined : { code: 'VIGIL_ERR_UNAUTHORIZED', message: 'a token is required' };
    },
  );
  await page.goto(`${base}/#/servers/chatty`);
  await signInScreen(page).waitFor();
  t.match(await page.getByTestId('sign-in-reason').textContent(), 'This gateway needs a token', 'the sign-in screen says a token is needed');
  t.same(handshakes, [{ vigilRestore: false }], 'one handshake, without a token, and no retry');

  const erin = unsignedToken({ sub: 'erin', exp: hour(), vigil: { servers: ['*'], logs: true } });
  await page.getByLabel('Access token').fill(erin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitFor(() => handshakes.length === 2, { message: 'the handshake with the pasted token' });
  t.same(handshakes[1], { token: erin, vigilRestore: false }, 'the next handshake carried the pasted token');
  await page.locator('.charts').waitFor();
  t.equal(await page.locator('.account-subject').textContent(), 'erin', 'signed in as erin, on the page that was asked for');
  await waitFor(async () => /Connected/.test((await page.locator('.connection').textContent()) ?? ''), { message: 'connected' });
  assertQuietConsole(t, console);
});

t.test('a server the token does not cover: its page says "not allowed" instead of an error', async (t) => {
  // The list shows only what the gateway's fleet summary sends (a verifying gateway leaves such
  // servers out); this gateway ignores tokens, so chatty is listed and its page is refused here.
  const token = unsignedToken({ sub: 'frank', exp: hour(), vigil: { servers: ['web-*'] } });
  const { page, console } = await openPage(t, browser, 'about:blank', DESKTOP, null);
  await interceptSocket(page, (event, payload) => {
    const serverId = (payload as { serverId?: string }).serverId;
    if (event.startsWith('subscribe-') && serverId === 'chatty') return { ok: false, error: { code: 'VIGIL_ERR_FORBIDDEN', message: `${serverId} is not covered` } };
    return undefined;
  });
  await page.goto(`${base}/#token=${token}`);
  await page.locator('.fleet-row[data-server-id="chatty"] .cell-id a').click();
  await page.getByTestId('not-allowed').waitFor();
  t.match(await page.getByTestId('not-allowed').textContent(), 'does not allow you to see “chatty”');
  t.equal(await page.locator('.charts').count(), 0, 'no charts for a server the sign-in does not cover');
  t.equal(await page.locator('.server .alert').count(), 0, 'and no error');
  await screenshot(t, page, 'server-not-allowed');
  assertQuietConsole(t, console);
});

t.test('against a gateway that verifies tokens: a signed #token= link gets in, a forged one is refused, none is asked for', async (t) => {
  const verifying = await startGateway(r.url); // TEST_AUTH: a real secret
  t.teardown(() => verifying.close());
  const grace = await testToken({ sub: 'grace', vigil: { servers: ['chatty'], logs: true } });
  const signed = await openPage(t, browser, `${verifying.url}/#/servers/chatty`, DESKTOP, grace);
  await signed.page.locator('.charts').waitFor();
  t.equal(await signed.page.locator('.account-subject').textContent(), 'grace', 'signed in as grace');
  await waitFor(async () => /Connected/.test((await signed.page.locator('.connection').textContent()) ?? ''), { message: 'connected' });
  assertQuietConsole(t, signed.console);

  const forged = unsignedToken({ sub: 'mallory', exp: hour(), vigil: { servers: ['*'], logs: true } });
  const refused = await openPage(t, browser, 'about:blank', DESKTOP, null);
  await refused.page.goto(`${verifying.url}/#token=${forged}`);
  await signInScreen(refused.page).waitFor();
  t.match(await refused.page.getByTestId('sign-in-reason').textContent(), 'The gateway refused this token', 'a forged token is refused, and the screen says so');
  t.equal(await stored(refused.page), null, 'and it was forgotten');

  const none = await openPage(t, browser, `${verifying.url}/#/`, DESKTOP, null);
  await signInScreen(none.page).waitFor();
  t.match(await none.page.getByTestId('sign-in-reason').textContent(), 'This gateway needs a token', 'without a token the sign-in screen asks for one');
});
