// The server page's interval control, in headless Chromium against a real stack: a collector
// configured at 3 s (its targets take requests down to 1 s). The choice that asks nothing says 3 s
// (the server's own interval, not the earlier system's 5 s). Choosing 1 s makes the "Sampled
// every" card say 1 s and the server's samples come every second; choosing 3 s again goes back.
import t from 'tap';
import { Keys } from '@vigil/protocol';
import { waitFor } from '@vigil/testkit';
import { createRedis, closeRedis } from '@vigil/store';
import { assertQuietConsole, launchBrowser, openPage, redis, screenshot, spawnIdler, startCollector, startGateway } from './helpers.js';

const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const idler = spawnIdler(t);
startCollector(t, r.url, 'rate', ['--interval', '3000', '--pid', `slowpoke=${idler.pid}`]);
const browser = await launchBrowser(t);
const reader = createRedis(r.url, 'command');
t.teardown(() => closeRedis(reader));

/** Samples the collector writes for slowpoke during `ms`. */
async function samplesDuring(ms: number): Promise<number> {
  const before = await reader.xlen(Keys.metrics('slowpoke'));
  const from = performance.now();
  await waitFor(() => performance.now() - from >= ms, { timeoutMs: ms + 5000, intervalMs: 100, message: 'the window' });
  return (await reader.xlen(Keys.metrics('slowpoke'))) - before;
}

t.test('choosing 1 s changes the card and the rate; the configured 3 s brings both back', async (t) => {
  await waitFor(async () => (await reader.hexists(Keys.registry, 'slowpoke')) === 1, { timeoutMs: 30_000, message: 'slowpoke registered' });
  const { page, console } = await openPage(t, browser, `${gateway.url}/#/servers/slowpoke`);
  const card = page.locator('[data-fact="interval"] dd');
  const choice = page.getByTestId('interval-choice');
  await waitFor(async () => (await card.textContent()) === '3s', { timeoutMs: 15_000, message: 'the card says 3 s' }).catch(async (err: Error) => {
    throw new Error(`${err.message}: card says ${await card.textContent()}`);
  });
  await waitFor(() => choice.getByLabel('3s').isChecked(), { message: 'the configured 3 s chosen: nothing asked' });
  t.same(await choice.locator('label').allTextContents(), ['1s', '3s'], 'the choices: 1 s, and the configured 3 s (no 5 s)');
  const slow = await samplesDuring(6000);
  t.ok(slow <= 3, `at 3 s: ${slow} samples in 6 s`);

  await choice.getByLabel('1s').check();
  await waitFor(async () => (await card.textContent()) === '1s', { timeoutMs: 15_000, message: 'the card says 1 s' });
  t.pass('the card follows the confirmed interval');
  // The collector notices within a second; then about 6 samples in 6 s (generous bounds: the machine is busy).
  await waitFor(async () => (await samplesDuring(2500)) >= 2, { timeoutMs: 15_000, message: 'samples every second' });
  const fast = await samplesDuring(6000);
  t.ok(fast >= 4, `at 1 s: ${fast} samples in 6 s`);
  await screenshot(t, page, 'server-interval-1s');

  await choice.getByLabel('3s').check();
  await waitFor(async () => (await card.textContent()) === '3s', { timeoutMs: 15_000, message: 'the card says 3 s again' });
  await waitFor(async () => (await samplesDuring(6000)) <= 3, { timeoutMs: 30_000, message: 'back to a sample every 3 s' });
  t.pass('3 s again: the card and the rate follow');
  assertQuietConsole(t, console);
});
