// Alerts in the dashboard, in headless Chromium against a real stack: a collector whose rule fires
// for `idler` from its first tick, and alerts written for `idler` as a collector writes them. The
// header badge counts what fires, the alerts page lists it and the latest changes, the server's
// row and its page carry a mark.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertId, type AlertBody } from '@vigil/protocol';
import { AlertWriter, closeRedis, createRedis } from '@vigil/store';
import { waitFor } from '@vigil/testkit';
import { assertQuietConsole, launchBrowser, openPage, redis, screenshot, spawnIdler, startCollector, startGateway } from './helpers.js';

const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const dir = mkdtempSync(join(tmpdir(), 'vigil-dash-alerts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'collector.json');
writeFileSync(config, JSON.stringify({ defaults: { alerts: [{ id: 'always', name: 'uses memory', kind: 'memory', aboveBytes: 1, severity: 'critical' }] } }));
const idler = spawnIdler(t);
startCollector(t, r.url, 'dash-alerts', ['--config', config, '--pid', `idler=${idler.pid}`]);
const browser = await launchBrowser(t);
const writerRedis = createRedis(r.url, 'command');
t.teardown(() => closeRedis(writerRedis));
const writer = new AlertWriter(writerRedis, 'dashboard-test');

function manual(state: AlertBody['state']): AlertBody {
  const now = new Date().toISOString();
  return { id: alertId('idler', 'manual'), rule: 'manual', severity: 'warning', serverId: 'idler', host: 'h', state, message: `manual: ${state}`, value: null, since: now, timestamp: now };
}

t.test('the badge counts firing alerts, the list shows them, rows and charts are marked', async (t) => {
  const { page, console } = await openPage(t, browser, `${gateway.url}/#/`);
  const badge = page.getByTestId('alerts-badge');
  const count = async () => Number(await badge.getAttribute('data-count'));
  await waitFor(async () => (await count()) === 1, { timeoutMs: 20_000, message: 'the collector-raised alert in the badge' });
  t.equal((await badge.textContent())?.trim().endsWith('1'), true, 'the badge shows 1');
  await page.locator('.fleet-row[data-server-id="idler"] [data-testid="alert-dot"]').waitFor();
  t.equal(await page.locator('.fleet-row[data-server-id="idler"]').getAttribute('data-alerting'), 'true', 'the row is marked');

  await writer.write([{ body: manual('firing') }]);
  await waitFor(async () => (await count()) === 2, { message: 'a second alert in the badge' });

  await badge.click();
  await page.waitForURL(/#\/alerts$/);
  const firing = page.getByTestId('alerts-firing');
  await firing.locator('[data-alert-id="idler/always"]').waitFor();
  await firing.locator('[data-alert-id="idler/manual"]').waitFor();
  t.match(await firing.textContent(), /critical.*idler.*uses memory: RSS/s, 'the most severe first, with its message');
  await screenshot(t, page, 'alerts-list');

  await writer.write([{ body: manual('resolved') }]);
  await waitFor(async () => (await count()) === 1, { message: 'the resolution in the badge' });
  await page.getByTestId('alerts-recent').locator('[data-alert-id="idler/manual"][data-state="resolved"]').waitFor();
  t.equal(await firing.locator('li').count(), 1, 'one left firing');

  await page.goto(`${gateway.url}/#/servers/idler`);
  await page.getByTestId('alert-band').waitFor();
  t.match(await page.getByTestId('alert-band').textContent(), /uses memory/, 'the server page names what fires');
  t.equal(await page.locator('.charts').getAttribute('data-alerting'), 'true', 'its charts are marked');
  assertQuietConsole(t, console);
});
