// The page behind a load balancer in front of two gateways, in headless Chromium: when the gateway
// holding its socket dies it carries on through the other; when both are gone it says
// "reconnecting", and when a gateway is back on the same port it receives again by itself — no
// reload, and every log line written meanwhile shown exactly once, in order.
import t from 'tap';
import { startTcpBalancer, waitFor } from '@vigil/testkit';
import {
  Chatty,
  assertQuietConsole,
  launchBrowser,
  openPage,
  redis,
  screenshot,
  startCollector,
  startGateway,
  tailMessages,
  tailPositions,
  type Gateway,
} from './helpers.js';

/** What Chromium itself logs when a connection is refused or cut while no gateway is there. */
const NETWORK_FAILURE = /WebSocket connection to .* failed|net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED)/;

const r = await redis(t);
// The balancer first: its origin is the gateways' public one (the page is served through it).
const lb = await startTcpBalancer([]);
t.teardown(() => lb.close());
const behindLb = { publicOrigins: [lb.url] };
const gateways: Gateway[] = [await startGateway(r.url, 0, behindLb), await startGateway(r.url, 0, behindLb)];
t.teardown(() => Promise.all(gateways.map((g) => g.close())));
lb.setBackends(gateways.map((g) => g.port));
const chatty = await Chatty.create();
startCollector(t, r.url, 'rc', chatty.commandFlag('chatty'));
await chatty.ready();
const browser = await launchBrowser(t);

t.test('the page rides out dead gateways with no reload and no lost or repeated log line', async (t) => {
  const { page, console } = await openPage(t, browser, `${lb.url}/#/servers/chatty`);
  await page.locator('.tail-status .live').waitFor();
  await page.evaluate('window.__sameDocument = 42');
  // Every state the badge goes through, even briefly.
  await page.evaluate(`(() => {
    const el = document.querySelector('.connection');
    const seen = (window.__states = []);
    const note = () => seen.push(el.getAttribute('data-state') + ': ' + el.textContent);
    note();
    new MutationObserver(note).observe(el, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  const states = () => page.evaluate('window.__states') as Promise<string[]>;
  const badge = page.getByRole('status').filter({ hasText: /Connected|Reconnecting|Offline|Connecting/ });
  const written: string[] = [];
  const say = async (message: string) => {
    await chatty.say('info', message);
    written.push(message);
  };
  const allShown = (messages: string[]) => async () => {
    const shown = await tailMessages(page);
    return messages.every((m) => shown.includes(m));
  };
  const cpuPoints = async () => Number(await page.locator('figure.chart[data-field="cpu"]').getAttribute('data-points'));

  await say('before-0');
  await waitFor(allShown(written), { message: 'first line' });

  // 1. The gateway holding the page's socket dies; the page reconnects through the balancer to the other.
  const holder = await waitFor(() => gateways.find((g) => g.clients() > 0), { message: 'the page to be connected' });
  const other = gateways.find((g) => g !== holder)!;
  t.equal(holder.clients(), 1, `the page is on gateway :${holder.port}`);
  const failover = holder.close();
  for (let i = 0; i < 5; i++) await say(`failover-${i}`);
  await failover;
  await waitFor(() => other.clients() === 1, { timeoutMs: 30_000, message: 'the page to reach the other gateway' });
  await waitFor(allShown(written), { timeoutMs: 15_000, message: 'lines written during the failover' });
  t.ok((await states()).some((s) => s.startsWith('reconnecting')), `the badge said reconnecting, then connected again (${(await states()).join(' → ')})`);
  t.pass(`the page carried on through gateway :${other.port}`);

  // 2. No gateway at all: the badge says so, lines keep being written, a gateway comes back on the same port.
  await other.close();
  await waitFor(async () => (await badge.getAttribute('data-state')) === 'reconnecting', { timeoutMs: 15_000, message: 'reconnecting on screen' });
  t.match(await badge.textContent(), /Reconnecting \(attempt \d+\)/, `the badge says "${await badge.textContent()}"`);
  t.equal(await badge.getAttribute('aria-live'), 'polite', 'the state is announced (role=status, aria-live)');
  const pointsDown = await cpuPoints();
  for (let i = 0; i < 10; i++) {
    await say(`outage-${i}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  t.notOk((await tailMessages(page)).includes('outage-0'), 'nothing arrives while no gateway is up');
  await screenshot(t, page, 'reconnecting');
  const attemptsDown = await badge.textContent();

  const back = await startGateway(r.url, holder.port, behindLb);
  gateways.push(back);
  await waitFor(async () => (await badge.getAttribute('data-state')) === 'connected', { timeoutMs: 30_000, message: 'connected again' });
  t.pass(`connected again to the gateway restarted on :${back.port} (last seen while down: "${attemptsDown}")`);
  await waitFor(allShown(written), { timeoutMs: 15_000, message: 'lines written while no gateway was up' });
  await say('after-0');
  await waitFor(allShown(written), { message: 'live after the outage' });
  await waitFor(async () => (await cpuPoints()) > pointsDown + 2, { timeoutMs: 15_000, message: 'chart points after the outage' });
  t.pass('the charts receive samples again');

  const shown = (await tailMessages(page)).filter((m) => written.includes(m));
  t.same(shown, written, `all ${written.length} lines written before, during and after the outages are shown, each once, in order`);
  const positions = await tailPositions(page);
  t.equal(new Set(positions).size, positions.length, 'no position is shown twice');
  t.equal(await page.evaluate('window.__sameDocument'), 42, 'the page was never reloaded');
  t.comment(`badge states: ${(await states()).join(' → ')}`);
  await screenshot(t, page, 'reconnected');
  assertQuietConsole(t, console, NETWORK_FAILURE);
  const tolerated = console.filter((e) => NETWORK_FAILURE.test(e.text));
  if (tolerated.length) t.comment(`browser network messages while gateways were down: ${[...new Set(tolerated.map((e) => e.text.replace(/\d{4,5}/g, 'N')))].join(' | ')}`);
});

t.test('the servers view carries on through the other gateway when its own dies', async (t) => {
  const fresh = await startGateway(r.url, 0, behindLb);
  gateways.push(fresh);
  const alive = gateways.filter((g) => g.app.server.listening);
  lb.setBackends(alive.map((g) => g.port));
  t.equal(alive.length, 2, 'two gateways behind the balancer');
  const { page, console } = await openPage(t, browser, `${lb.url}/#/`);
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  const cpu = async () => Number.parseFloat((await page.locator('.fleet-row[data-server-id="chatty"] [data-field="cpu"]').textContent()) ?? '');
  await waitFor(async () => (await cpu()) < 10, { timeoutMs: 20_000, message: 'chatty to idle' });
  const holder = await waitFor(() => alive.find((g) => g.clients() > 0), { message: 'the page to be connected' });
  await holder.close();
  await chatty.cpu(50);
  t.teardown(() => chatty.cpu(0).catch(() => {}));
  const other = alive.find((g) => g !== holder)!;
  await waitFor(() => other.clients() === 1, { timeoutMs: 30_000, message: 'the page on the other gateway' });
  const value = await waitFor(async () => ((await cpu()) >= 20 ? cpu() : null), { timeoutMs: 20_000, message: 'CPU to rise on screen' });
  t.pass(`after its gateway died, the list still follows chatty live (CPU ${value} %)`);
  t.equal(await page.getByRole('status').filter({ hasText: 'Connected' }).count(), 1, 'the badge says connected');
  assertQuietConsole(t, console, NETWORK_FAILURE);
});
