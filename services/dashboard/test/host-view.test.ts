// The host view in headless Chromium against a real stack: redis-server, a gateway serving the
// build, and the collector's CLI sampling this machine every 500 ms. A server's host links to its
// host view, which shows this machine's real figures (cores, memory, mounts) and charts that grow
// live; a sign-in without the host in its `hosts` is told so.
import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@vigil/testkit';
import { assertQuietConsole, launchBrowser, openPage, redis, screenshot, startCollector, startGateway, testToken } from './helpers.js';

const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const dir = mkdtempSync(join(tmpdir(), 'vigil-host-view-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'collector.json');
writeFileSync(config, JSON.stringify({ hostMetrics: { intervalMs: 500, mounts: ['/'] } }));
// startCollector names the host `<id>-host`: here `hv-host`.
startCollector(t, r.url, 'hv', ['--config', config, '--self', 'hv-agent']);
const browser = await launchBrowser(t);
const base = gateway.url;
const opsToken = await testToken({ sub: 'ops', vigil: { servers: ['*'], hosts: ['hv-*'] } });

const fact = (page: import('playwright-core').Page, key: string) => page.locator(`.fact[data-fact="${key}"] dd`).textContent();
const points = async (page: import('playwright-core').Page, field: string) =>
  Number(await page.locator(`figure.chart[data-field="${field}"]`).getAttribute('data-points'));

t.test('from the servers list to the host view, with live figures of this machine', async (t) => {
  const { page, console } = await openPage(t, browser, `${base}/#/`, undefined, opsToken);
  const link = page.locator('.fleet-row[data-server-id="hv-agent"] a[data-host-link="hv-host"]');
  await link.waitFor({ timeout: 30_000 });
  await link.click();
  await page.waitForURL(/#\/hosts\/hv-host$/);
  await page.getByRole('heading', { name: 'hv-host' }).waitFor();

  await waitFor(async () => (await fact(page, 'cores')) === String(cpus().length), { timeoutMs: 15_000, message: 'the core count of this machine' });
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  const gib = (memTotalKb / 1024 / 1024).toFixed(1);
  t.match(await fact(page, 'memory'), new RegExp(` of ${gib.replace('.', '\\.')} GiB$`), `memory "of ${gib} GiB", as MemTotal says`);
  t.match(await fact(page, 'load'), /^\d+\.\d\d \/ \d+\.\d\d \/ \d+\.\d\d$/);
  t.match(await fact(page, 'collectors'), /hv/);
  t.equal(await page.locator('.meter[data-core]').count(), cpus().length, 'one meter per core');
  await page.locator('tr[data-mount="/"]').waitFor();
  t.match(await page.locator('tr[data-mount="/"] [data-field="use"]').textContent(), /^\d+(\.\d)? %$/, 'the root mount and its use');

  // Live: every chart grows by itself while the page is open.
  const before = await points(page, 'cpu');
  await waitFor(async () => (await points(page, 'cpu')) >= before + 3, { timeoutMs: 20_000, message: 'three more live host samples' });
  for (const field of ['load1', 'memoryUsed', 'rx', 'tx']) t.ok((await points(page, field)) >= before + 3, `the ${field} chart grew too`);
  t.match(await page.locator('figure.chart[data-field="cpu"] .chart-value').textContent(), /^\d+(\.\d)? %$/);
  await screenshot(t, page, 'host-view');
  assertQuietConsole(t, console);
});

t.test('the server page links its host', async (t) => {
  const { page, console } = await openPage(t, browser, `${base}/#/servers/hv-agent`, undefined, opsToken);
  const link = page.locator('.fact[data-fact="host"] a[data-host-link="hv-host"]');
  await link.waitFor({ timeout: 20_000 });
  t.equal(await link.getAttribute('href'), '#/hosts/hv-host');
  assertQuietConsole(t, console);
});

t.test('a sign-in whose hosts do not cover the host is told so', async (t) => {
  const { page, console } = await openPage(t, browser, `${base}/#/hosts/hv-host`);
  await page.getByTestId('not-allowed').waitFor({ timeout: 20_000 });
  t.match(await page.getByTestId('not-allowed').textContent(), /does not allow you to see host “hv-host”/);
  t.equal(await page.locator('figure.chart').count(), 0, 'no charts of a host it may not see');
  // The REST read of a host it may not see answers 404, which the browser reports on its console.
  assertQuietConsole(t, console, /404|subscription ended/);
});
