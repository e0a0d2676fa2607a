// DEV ONLY (not committed): a gateway with a stand-in subscribe-fleet handler, to exercise the list UI.
import t from 'tap';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, redis, screenshot, startGateway, listedIds } from './helpers.js';

const N = 10_000;
const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const rows = new Map<string, any>();
for (let i = 0; i < N; i++) {
  const id = `fleet-${String(i).padStart(5, '0')}`;
  rows.set(id, { id, host: `rack-${i % 40}`, collector: `col-${i % 100}`, status: i % 100 === 42 ? 'exited' : 'running', cpu: i % 100, rss: 5e7 + i, uptime: 3600 + i, lastSeen: Date.now(), position: `${Date.now()}-${i}` });
}
const timers: NodeJS.Timeout[] = [];
t.teardown(() => timers.forEach(clearInterval));
gateway.app.io.of('/monitoring').on('connection', (socket) => {
  let filter: any = {};
  const match = (row: any) => (!filter.id || row.id.startsWith(filter.id)) && (!filter.status || filter.status.includes(row.status));
  const snapshot = () => {
    const all = [...rows.values()].filter(match);
    for (let i = 0; i < all.length || i === 0; i += 1000) socket.emit('fleet:update', { snapshot: true, complete: i + 1000 >= all.length, rows: all.slice(i, i + 1000), removed: [], total: all.length, timestamp: Date.now() });
    return all.length;
  };
  socket.on('subscribe-fleet', (p: any, ack: any) => {
    filter = p?.filter ?? {};
    const total = [...rows.values()].filter(match).length;
    ack({ ok: true, total });
    snapshot();
  });
  socket.on('unsubscribe-fleet', (_p: any, ack: any) => ack?.({ ok: true }));
  let tick = 0;
  if (!process.env.NO_DELTAS) timers.push(setInterval(() => {
    tick++;
    const all = [...rows.values()].filter(match);
    const now = Date.now();
    for (const row of all) { row.cpu = (row.cpu + 7) % 100; row.position = `${now}-${tick}`; row.lastSeen = now; }
    for (let i = 0; i < all.length; i += 1000) socket.emit('fleet:update', { snapshot: false, complete: i + 1000 >= all.length, rows: all.slice(i, i + 1000), removed: [], total: all.length, timestamp: now });
  }, 1000));
});

const browser = await launchBrowser(t);
t.test('dev', async (t) => {
  const { page, console } = await openPage(t, browser, `${gateway.url}/#/`);
  const t0 = Date.now();
  await page.locator('.fleet-row[data-server-id="fleet-00000"]').waitFor({ timeout: 60000 });
  t.comment(`first row after ${Date.now() - t0} ms; count: ${await page.getByTestId('fleet-count').textContent()}; dom rows ${await page.locator('.fleet-row').count()}`);
  t.comment(`ids: ${(await listedIds(page)).slice(0, 5).join()}`);
  await new Promise((res) => setTimeout(res, 3500));
  t.comment(`sparkline points fleet-00003: ${await page.locator('.fleet-row[data-server-id="fleet-00003"] svg.sparkline').getAttribute('data-points')}`);
  await screenshot(t, page, 'dev-top');
  await page.locator('.fleet').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.locator('.fleet-row[data-server-id="fleet-09999"]').waitFor();
  t.comment(`end visible ${await page.locator('.fleet-row[data-server-id="fleet-09999"]').isVisible()}`);
  await screenshot(t, page, 'dev-end');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  for (const mode of ['idle', 'steady', 'jump']) {
    const d = (await page.evaluate(`new Promise((resolve) => {
      const el = document.querySelector('.fleet'); const mode = '${mode}'; const deltas = []; let seed = 7; let prev = 0; let n = 0; el.scrollTop = 0;
      const tick = (now) => { if (prev) deltas.push(now - prev); prev = now;
        if (mode === 'steady') el.scrollTop += 132;
        if (mode === 'jump') { seed = (seed * 16807) % 2147483647; el.scrollTop = (seed / 2147483647) * (el.scrollHeight - el.clientHeight); }
        if (++n <= 300) requestAnimationFrame(tick); else resolve(deltas); };
      requestAnimationFrame(tick); })`)) as number[];
    const s = [...d].sort((a, b) => a - b);
    t.comment(`${mode}: p50 ${s[s.length >> 1]!.toFixed(1)} p95 ${s[Math.floor(s.length * 0.95)]!.toFixed(1)} max ${s[s.length - 1]!.toFixed(1)}`);
  }
  const { profile } = (await cdp.send('Profiler.stop')) as any;
  await cdp.send('HeapProfiler.collectGarbage');
  t.comment(`heap ${JSON.stringify(await cdp.send('Runtime.getHeapUsage'))}`);
  (await import('node:fs')).writeFileSync('/tmp/fleetui/scroll.cpuprofile', JSON.stringify(profile));
  await page.getByRole('searchbox', { name: /Filter servers by id/ }).fill('fleet-0123');
  await page.waitForFunction(() => document.querySelector('[data-testid=fleet-count]')?.getAttribute('data-total') === '10');
  t.comment(`filtered: ${(await listedIds(page)).join()}`);
  await new Promise((res) => setTimeout(res, 2500));
  t.comment(`filtered later: ${(await listedIds(page)).join()}`);
  t.comment(`rows: ${JSON.stringify(await page.locator('.fleet-row').evaluateAll((rs) => rs.map((r) => [r.getAttribute('aria-rowindex'), r.getAttribute('data-server-id'), (r as HTMLElement).style.transform])))}`);
  t.comment(`spacer: ${await page.locator('.vlist-spacer').getAttribute('style')} ${await page.locator('.vlist-spacer').getAttribute('data-rows')}`);
  await screenshot(t, page, 'dev-filtered');
  const phone = await openPage(t, browser, `${gateway.url}/#/`, (await import('./helpers.js')).PHONE);
  await phone.page.locator('.fleet-row[data-server-id="fleet-00000"]').waitFor({ timeout: 60000 });
  await new Promise((res) => setTimeout(res, 2500));
  await phone.page.screenshot({ path: '/tmp/fleetui/phone.png' });
  t.comment(`phone overflow ${JSON.stringify(await phone.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]))}`);
  t.comment(`console: ${JSON.stringify(console.filter((c) => c.type !== 'log' && c.type !== 'debug'))}`);
});
