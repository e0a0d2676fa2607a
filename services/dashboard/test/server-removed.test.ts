// Servers that leave, in headless Chromium against a real stack: a collector stopped with SIGTERM
// shows its server `stopped`; an admin's DELETE drops it from the list and the open server page
// says it was removed.
import t from 'tap';
import { waitFor } from '@vigil/testkit';
import { assertQuietConsole, cell, launchBrowser, openPage, redis, spawnIdler, startCollector, startGateway, testToken } from './helpers.js';

t.test('stopped, then deleted: the list drops the server and its page says it was removed', async (t) => {
  const r = await redis(t);
  const gateway = await startGateway(r.url);
  t.teardown(() => gateway.close());
  const idler = spawnIdler(t);
  const collector = startCollector(t, r.url, 'leaving', ['--pid', `pod-7=${idler.pid}`, '--pid', `pod-8=${idler.pid}`]);
  const browser = await launchBrowser(t);
  const list = await openPage(t, browser, `${gateway.url}/#/`);
  await waitFor(async () => (await list.page.locator('.fleet-row[data-server-id="pod-7"]').count()) === 1, { timeoutMs: 30_000, message: 'pod-7 listed' });
  const server = await openPage(t, browser, `${gateway.url}/#/servers/pod-7`);
  await server.page.locator('.server .status[data-status="running"]').waitFor({ timeout: 30_000 });

  await collector.stop();
  await server.page.locator('.server .status[data-status="stopped"]').waitFor({ timeout: 20_000 });
  t.pass('the server page shows stopped');
  await waitFor(async () => (await cell(list.page, 'pod-7', 'status')) === 'stopped', { timeoutMs: 20_000, message: 'stopped in the list' });
  t.pass('the list shows stopped');

  const admin = await testToken({ vigil: { servers: ['*'], admin: true } });
  const res = await gateway.app.inject({ method: 'DELETE', url: '/api/servers/pod-7', headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200);
  await server.page.locator('[data-testid="server-removed"]').waitFor({ timeout: 20_000 });
  t.match(await server.page.locator('[data-testid="server-removed"]').textContent(), /removed by an administrator/);
  await waitFor(async () => (await list.page.locator('.fleet-row[data-server-id="pod-7"]').count()) === 0, { timeoutMs: 20_000, message: 'pod-7 dropped from the list' });
  t.equal(await list.page.locator('.fleet-row[data-server-id="pod-8"]').count(), 1, 'the other server stays listed');
  assertQuietConsole(t, list.console);
  // The page keeps asking for the server (it comes back if its collector registers it again): the
  // browser logs each 404 answer, the one expected message.
  assertQuietConsole(t, server.console, /status of 404 \(Not Found\)/);
});
