// The servers list at fleet scale, in headless Chromium against a real stack: 10,000 servers
// written to redis-server as collectors write them, a gateway serving the build, one fleet
// subscription for the whole list. The DOM holds about a screen of rows; scrolling reaches the
// last server; the filter narrows; a live sample changes a row; a deleted server leaves. Scroll
// smoothness (frame intervals during scripted scrolls) and the page's JS heap are measured and
// printed, never asserted.
import t from 'tap';
import type { Page } from 'playwright-core';
import { waitFor } from '@vigil/testkit';
import { assertQuietConsole, cell, launchBrowser, listedIds, openPage, redis, screenshot, startGateway, testToken } from './helpers.js';
import { SyntheticFleet } from './synthetic-fleet.js';

const FLEET = 10_000;
/** Longest the fleet is kept sampling for a measurement. */
const LIVE_MAX_MS = 60_000;
/** Every 100th server has exited: 100 of them. */
const exitedAt = (i: number) => i % 100 === 42;

// Writing the fleet and the measured scrolls take close to tap's default of 120 s on a busy machine.
t.setTimeout(240_000);
const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const fleet = new SyntheticFleet(r.url);
t.teardown(() => fleet.close());
const writeStarted = Date.now();
await fleet.register(FLEET, (i) => (exitedAt(i) ? 'exited' : 'running'));
t.comment(`${FLEET} servers written to Redis in ${Date.now() - writeStarted} ms`);
const browser = await launchBrowser(t);

const count = (page: Page) => page.getByTestId('fleet-count').getAttribute('data-total').then(Number);
const domRows = (page: Page) => page.locator('.fleet-row').count();
const last = SyntheticFleet.id(FLEET - 1);

type FrameStats = { frames: number; p50: number; p95: number; max: number; over50: number };

/** Frame intervals (requestAnimationFrame deltas) while `step` moves the list once per frame. */
async function scrollFrames(page: Page, mode: 'idle' | 'steady' | 'jump', frames: number): Promise<FrameStats> {
  // A string, not a function: tsx's keepNames helpers do not exist in the page.
  const deltas = (await page.evaluate(`new Promise((resolve) => {
    const el = document.querySelector('.fleet');
    const mode = ${JSON.stringify(mode)};
    const deltas = [];
    let seed = 7;
    let prev = 0;
    let n = 0;
    el.scrollTop = 0;
    const tick = (now) => {
      if (prev) deltas.push(now - prev);
      prev = now;
      if (mode === 'steady') el.scrollTop += 3 * 44;
      if (mode === 'jump') { seed = (seed * 16807) % 2147483647; el.scrollTop = (seed / 2147483647) * (el.scrollHeight - el.clientHeight); }
      if (++n <= ${frames}) requestAnimationFrame(tick); else resolve(deltas);
    };
    requestAnimationFrame(tick);
  })`)) as number[];
  const sorted = [...deltas].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { frames: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted[sorted.length - 1]!), over50: deltas.filter((d) => d > 50).length };
}

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    return Math.round((usedSize / 1048576) * 10) / 10;
  } finally {
    await cdp.detach();
  }
}

/**
 * Runs `measure` while every server of the fleet gets a new sample, round after round (as fast as
 * Redis takes them, bounded to LIVE_MAX_MS), and counts the fleet messages the page receives.
 */
async function whileFleetIsLive<T>(page: Page, measure: () => Promise<T>) {
  let stop = false;
  let rounds = 0;
  let messages = 0;
  let bytes = 0;
  // Frames the page's socket receives, as Chromium's network layer reports them.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketFrameReceived', (e: { response: { payloadData: string } }) => {
    if (!e.response.payloadData.startsWith('42/monitoring,["fleet:update"')) return;
    messages++;
    bytes += e.response.payloadData.length;
  });
  const started = Date.now();
  const deadline = started + LIVE_MAX_MS;
  const writing = (async () => {
    for (let round = 1; !stop && Date.now() < deadline; round++) {
      for (let from = 0; from < FLEET && !stop; from += 1000) {
        const batch = Array.from({ length: Math.min(1000, FLEET - from) }, (_, k) => ({ index: from + k, status: exitedAt(from + k) ? ('exited' as const) : ('running' as const), cpu: (from + k + round * 7) % 100 }));
        await fleet.write(batch);
      }
      rounds = round;
    }
  })();
  try {
    const result = await measure();
    return { result, rounds, messages, kilobytes: Math.round(bytes / 1024), seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    stop = true;
    await writing;
    await cdp.detach();
  }
}

t.test(`${FLEET} servers: a screen of rows in the DOM, the last one reached by scrolling, filters, live rows, removals`, async (t) => {
  const opened = Date.now();
  const { page, console } = await openPage(t, browser, `${gateway.url}/#/`);
  await waitFor(async () => (await count(page)) === FLEET, { timeoutMs: 60_000, message: `the list to count ${FLEET} servers` });
  await page.locator(`.fleet-row[data-server-id="${SyntheticFleet.id(0)}"]`).waitFor();
  t.comment(`the list showed ${FLEET} servers ${Date.now() - opened} ms after the page was opened`);
  t.equal(await page.locator('.vlist-spacer').getAttribute('data-rows'), String(FLEET), 'the list spans every server');
  const inDom = await domRows(page);
  t.ok(inDom >= 10 && inDom <= 60, `only about a screen of rows is in the DOM (${inDom} of ${FLEET})`);
  t.same((await listedIds(page)).slice(0, 3), [SyntheticFleet.id(0), SyntheticFleet.id(1), SyntheticFleet.id(2)], 'sorted by id');
  t.equal(await cell(page, SyntheticFleet.id(3), 'cpu'), '3.5 %', 'a row shows its CPU');
  t.equal(await cell(page, SyntheticFleet.id(3), 'host'), SyntheticFleet.host(3), 'and its host');
  await screenshot(t, page, 'fleet-top');

  // To the end, the way a user drags the scrollbar there.
  await page.locator('.fleet').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.locator(`.fleet-row[data-server-id="${last}"]`).waitFor();
  t.ok(await page.locator(`.fleet-row[data-server-id="${last}"]`).isVisible(), `scrolling to the end shows the last server (${last})`);
  t.ok((await domRows(page)) <= 60, `still about a screen of rows in the DOM at the end (${await domRows(page)})`);
  await screenshot(t, page, 'fleet-end');

  // Smoothness: frame intervals with the list at rest (the floor), scrolled 3 rows a frame, and
  // jumping to a random place every frame (every row on screen changes).
  const idle = await scrollFrames(page, 'idle', 120);
  const steady = await scrollFrames(page, 'steady', 600);
  const jump = await scrollFrames(page, 'jump', 300);
  const heap = await heapMb(page);
  const fmt = (s: FrameStats) => `p50 ${s.p50} ms, p95 ${s.p95} ms, max ${s.max} ms, ${s.over50} of ${s.frames} frames over 50 ms`;
  t.comment(`frame intervals at ${FLEET} rows — at rest: ${fmt(idle)}`);
  t.comment(`frame intervals at ${FLEET} rows — scrolling 3 rows a frame: ${fmt(steady)} (p95 ${(steady.p95 / idle.p95).toFixed(2)}x at rest)`);
  t.comment(`frame intervals at ${FLEET} rows — a random jump every frame: ${fmt(jump)} (p95 ${(jump.p95 / idle.p95).toFixed(2)}x at rest)`);
  t.comment(`JS heap after the scrolls (after GC): ${heap} MB`);
  t.ok(steady.frames > 0 && jump.frames > 0, 'frames were measured');

  // The same while every server sends samples: the page takes the gateway's deltas as it scrolls.
  const live = await whileFleetIsLive(page, async () => ({ idle: await scrollFrames(page, 'idle', 180), steady: await scrollFrames(page, 'steady', 600) }));
  t.comment(
    `while all ${FLEET} servers sample (${live.rounds} rounds in ${live.seconds} s; the page got ${live.messages} fleet:update messages, ${live.kilobytes} KB) — at rest: ${fmt(live.result.idle)}; scrolling: ${fmt(live.result.steady)}`,
  );
  t.comment(`JS heap after the live scroll (after GC): ${await heapMb(page)} MB`);

  // Filters: the id (prefix, then glob), then the status; the gateway applies them.
  const byId = page.getByRole('searchbox', { name: /Filter servers by id/ });
  await byId.fill('fleet-0123');
  await waitFor(async () => (await count(page)) === 10, { message: 'the id prefix to leave 10 servers' });
  t.same(await listedIds(page), Array.from({ length: 10 }, (_, k) => SyntheticFleet.id(1230 + k)), 'fleet-0123 leaves fleet-01230 … fleet-01239');
  await byId.fill('fleet-*7');
  await waitFor(async () => (await count(page)) === FLEET / 10, { message: 'the glob to leave a tenth' });
  t.pass(`the glob fleet-*7 leaves ${FLEET / 10} servers`);
  await byId.fill('');
  await page.getByRole('combobox', { name: 'Filter servers by status' }).selectOption('exited');
  await waitFor(async () => (await count(page)) === FLEET / 100, { message: 'the status filter to leave the exited' });
  const exited = await listedIds(page);
  t.ok(exited.length > 0 && exited.every((id) => exitedAt(Number(id.slice(6)))), `status exited leaves the ${FLEET / 100} exited servers`);
  await page.getByRole('combobox', { name: 'Filter servers by status' }).selectOption('');

  // A live sample changes a row's CPU and grows its trend; a deleted server leaves the list.
  await byId.fill('fleet-0123');
  await waitFor(async () => (await count(page)) === 10, { message: 'back to 10 servers' });
  const watched = SyntheticFleet.id(1234);
  const points = async () => Number(await page.locator(`.fleet-row[data-server-id="${watched}"] svg.sparkline`).getAttribute('data-points'));
  const pointsBefore = await points();
  await fleet.write([{ index: 1234, cpu: 77.7 }]);
  await waitFor(async () => (await cell(page, watched, 'cpu')) === '77.7 %', { timeoutMs: 10_000, message: 'the new CPU on screen' });
  t.pass(`a new sample of ${watched} shows its CPU (77.7 %)`);
  t.ok((await points()) > pointsBefore, `its trend gained a point (${pointsBefore} → ${await points()})`);
  const gone = SyntheticFleet.id(1235);
  const admin = await testToken({ vigil: { servers: ['*'], admin: true } });
  const res = await gateway.app.inject({ method: 'DELETE', url: `/api/servers/${gone}`, headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.statusCode, 200, 'an admin deletes one server');
  await waitFor(async () => (await page.locator(`.fleet-row[data-server-id="${gone}"]`).count()) === 0, { timeoutMs: 10_000, message: 'the deleted server to leave' });
  t.equal(await count(page), 9, 'the count follows');
  t.notOk((await listedIds(page)).includes(gone), `${gone} left the list`);
  await screenshot(t, page, 'fleet-filtered');
  assertQuietConsole(t, console);
});
