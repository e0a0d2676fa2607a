// The dashboard in headless Chromium against a real stack: redis-server, a gateway serving the
// build, and the collector's CLI supervising `chatty` (a node process whose stdout is its log)
// and watching `idler` by pid. Every test opens a fresh browser context and checks that the page
// logged no error or warning.
import t from 'tap';
import { waitFor } from '@vigil/testkit';
import {
  Chatty,
  PHONE,
  assertQuietConsole,
  cell,
  durationSeconds,
  getJson,
  listedIds,
  launchBrowser,
  median,
  namedControls,
  openPage,
  redis,
  screenshot,
  seenAt,
  spawnIdler,
  startCollector,
  startGateway,
  tailMessages,
  tailPositions,
  unnamedControls,
  watchLogLines,
} from './helpers.js';

const r = await redis(t);
const gateway = await startGateway(r.url);
t.teardown(() => gateway.close());
const chatty = await Chatty.create();
const idler = spawnIdler(t);
const collector = startCollector(t, r.url, 'dash', [...chatty.commandFlag('chatty'), '--pid', `idler=${idler.pid}`]);
await chatty.ready();
const browser = await launchBrowser(t);
const base = gateway.url;

const cpuValue = (text: string) => (text === '—' ? NaN : Number.parseFloat(text));

t.test('the servers list fills from the registry and follows status and CPU live', async (t) => {
  // The page runs under the gateway's CSP, which allows no eval: the client's validators must not need it.
  const csp = (await fetch(`${base}/`)).headers.get('content-security-policy') ?? '';
  t.match(csp, /script-src 'self'(;|$)/, "the dashboard is served with script-src 'self'");
  t.notMatch(csp, /unsafe-eval/, "and without 'unsafe-eval'");
  const { page, context, console } = await openPage(t, browser, `${base}/#/`);
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|unsafe-eval/i.test(m.text())) violations.push(m.text());
  });
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  await page.locator('.fleet-row[data-server-id="idler"]').waitFor();
  t.equal(await cell(page, 'chatty', 'status'), 'running', 'chatty shows as running');
  t.equal(await cell(page, 'idler', 'status'), 'running', 'idler shows as running');
  t.match(await page.locator('.fleet-row[data-server-id="chatty"]').textContent(), /dash-host/, 'the host is shown');
  t.match(await page.locator('.connection').textContent(), /Connected/, 'the connection badge says connected');

  // A server that registers after the page opened shows up by itself (registry re-read).
  const late = startCollector(t, r.url, 'late', ['--self', 'late-agent']);

  // CPU: once chatty idles (its start-up costs CPU too), it burns ~60 % of a core; the figure on screen follows.
  const before = await waitFor(
    async () => {
      const v = cpuValue(await cell(page, 'chatty', 'cpu'));
      return v < 10 ? String(v) : null;
    },
    { timeoutMs: 20_000, message: 'chatty to idle' },
  ).then(Number);
  await chatty.cpu(60);
  const after = await waitFor(
    async () => {
      const v = cpuValue(await cell(page, 'chatty', 'cpu'));
      return v >= 25 ? v : null;
    },
    { timeoutMs: 20_000, message: 'CPU of chatty on screen to rise' },
  );
  t.ok(after > before, `CPU on screen went from ${before} % to ${after} %`);
  await waitFor(async () => Number(await page.locator('.fleet-row[data-server-id="chatty"] svg.sparkline').getAttribute('data-points')) >= 5, {
    message: 'the sparkline to have points',
  });
  await screenshot(t, page, 'servers-desktop');

  // Status: chatty crashes (exit 1), the collector restarts it: `restarted`, and its uptime starts again.
  const uptimeBefore = durationSeconds(await cell(page, 'chatty', 'uptime'));
  t.ok(uptimeBefore >= 1, `chatty's uptime is shown (${uptimeBefore} s)`);
  await chatty.cpu(0);
  await chatty.exit(1);
  await waitFor(async () => (await cell(page, 'chatty', 'status')) === 'restarted', { timeoutMs: 20_000, message: 'status restarted on screen' });
  await waitFor(async () => durationSeconds(await cell(page, 'chatty', 'uptime')) < uptimeBefore, { timeoutMs: 20_000, message: 'the uptime of the new process on screen' });
  t.pass(`chatty shows as restarted, uptime ${uptimeBefore} s → ${await cell(page, 'chatty', 'uptime')}`);
  await chatty.ready();

  await page.locator('.fleet-row[data-server-id="late-agent"]').waitFor({ timeout: 25_000 });
  t.pass('a server registered after the page opened appeared without a reload');
  await late.stop();

  // Filter (the gateway applies it) by id prefix and by host, and sort.
  const byId = page.getByRole('searchbox', { name: /Filter servers by id/ });
  await byId.fill('idl');
  await waitFor(async () => (await listedIds(page)).join() === 'idler', { message: 'the id filter to leave idler' });
  t.match(await page.getByTestId('fleet-count').textContent(), /^1 server match/, 'the count says one server matches');
  await byId.fill('');
  const byHost = page.getByRole('searchbox', { name: 'Filter servers by host' });
  await byHost.fill('late-host');
  await waitFor(async () => (await listedIds(page)).join() === 'late-agent', { message: 'the host filter to leave late-agent' });
  t.pass('filtering by host leaves the server of that host');
  await byHost.fill('dash host');
  await page.getByRole('alert').filter({ hasText: 'Host:' }).waitFor();
  t.equal(await byHost.getAttribute('aria-invalid'), 'true', 'a host with a space is refused at the field, not sent');
  await byHost.fill('');
  await waitFor(async () => (await listedIds(page)).length === 3, { message: 'all three servers back' });
  // One read of the rows, compared with itself sorted; each click is awaited through the header it changes.
  const first = await listedIds(page);
  t.same(first, [...first].sort(), 'sorted by server id at first');
  await page.getByRole('button', { name: 'Server', exact: true }).click();
  await page.locator('[role="columnheader"][aria-sort="descending"]').first().waitFor({ timeout: 10_000 });
  t.equal(await page.locator('[role="columnheader"][aria-sort="descending"]').count(), 1, 'clicking the header sorts descending');
  const descending = await waitFor(async () => {
    const now = await listedIds(page);
    return now.join() === [...now].sort().reverse().join() ? now : null;
  }, { message: 'rows in descending id order' });
  t.same(descending, [...first].sort().reverse(), 'rows in descending id order');
  await page.getByRole('button', { name: 'CPU', exact: true }).click();
  await page.locator('[aria-sort="descending"] button', { hasText: 'CPU' }).waitFor({ timeout: 10_000 });
  t.equal(await page.locator('[aria-sort="descending"] button').textContent(), 'CPU▼', 'sorted by CPU, highest first');

  t.same(await unnamedControls(context, page), [], 'every control has an accessible name');
  t.same(violations, [], 'no Content-Security-Policy violation while the page ran');
  assertQuietConsole(t, console);
});

t.test('a server page fills its charts from history and then gains points live', async (t) => {
  const history = await getJson<{ items: unknown[] }>(`${base}/api/servers/chatty/metrics?limit=300`);
  const { page, console } = await openPage(t, browser, `${base}/#/servers/chatty`);
  const cpu = page.locator('figure.chart[data-field="cpu"]');
  const points = async () => Number(await cpu.getAttribute('data-points'));
  const first = await waitFor(async () => ((await points()) >= history.items.length ? points() : null), {
    message: `the chart to hold the ${history.items.length} samples of history`,
  });
  t.ok(first >= history.items.length, `the CPU chart opened with ${first} points (history had ${history.items.length})`);
  const later = await waitFor(async () => ((await points()) >= first + 4 ? points() : null), { timeoutMs: 15_000, message: 'live points' });
  t.ok(later >= first + 4, `the chart gained points live: ${first} → ${later}`);
  t.equal(await page.locator('.chart-plot canvas').count(), 2, 'two uPlot charts are drawn (CPU and memory)');
  // Both counts are read in one turn of the page: a live point may land between two separate reads.
  const counts = await page.evaluate(() =>
    ['cpu', 'rss'].map((field) => document.querySelector(`figure.chart[data-field="${field}"]`)?.getAttribute('data-points')),
  );
  t.equal(counts[1], counts[0], `memory chart follows too (cpu ${counts[0]}, rss ${counts[1]} points)`);
  t.equal(await page.locator('h1').textContent(), 'chatty');
  const fact = (key: string) => page.locator(`[data-fact="${key}"] dd`).textContent();
  const pid = await getJson<{ pid: number; restarts: number }>(`${base}/api/servers/chatty`);
  await waitFor(async () => (await fact('pid')) === String(pid.pid), { message: 'the pid fact' });
  t.match(await fact('uptime'), /^\d+(s|m)/, 'uptime is shown');
  t.equal(await fact('restarts'), String(pid.restarts), 'restarts are shown');
  t.match(await fact('host'), 'dash-host');
  t.match(await page.locator('.command-line').textContent(), /chatty\.mjs/, 'the command is shown');
  await screenshot(t, page, 'server-desktop');
  assertQuietConsole(t, console);
});

t.test('log lines appear in the tail live; the level filter, pause and older lines work', async (t) => {
  // History to scroll back into: more than the 200 lines of backfill.
  await chatty.sayMany(Array.from({ length: 260 }, (_, i): [string, string] => ['info', `bulk-${i}`]));
  await waitFor(async () => {
    const page = await getJson<{ items: Array<{ logData: { message: string } }> }>(`${base}/api/servers/chatty/logs?limit=1`);
    return page.items[0]?.logData.message === 'bulk-259';
  }, { message: 'the bulk lines to reach redis' });

  const { page, console } = await openPage(t, browser, `${base}/#/servers/chatty`);
  await page.locator('.tail-status .live').waitFor();
  await waitFor(async () => (await tailMessages(page)).includes('bulk-259'), { message: 'backfill' });
  const backfilled = await tailMessages(page);
  t.ok(backfilled.length >= 200 && !backfilled.includes('bulk-0'), `backfill shows the newest lines (${backfilled.length}), not all of history`);

  // Latency: from asking chatty to print until the line is on screen (page clock = our clock).
  await watchLogLines(page);
  const latencies: number[] = [];
  for (let i = 0; i < 7; i++) {
    const message = `latency-probe-${i}-${Math.random().toString(36).slice(2, 8)}`;
    const writtenAt = await chatty.say('info', message);
    const shownAt = await waitFor(() => seenAt(page, message), { timeoutMs: 15_000, message: `line ${message} on screen` });
    latencies.push(shownAt - writtenAt);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  t.comment(`log line latency, process write → on screen (ms): ${latencies.join(', ')}; median ${median(latencies)}, max ${Math.max(...latencies)}`);
  t.ok(Math.max(...latencies) < 10_000, `every probe line was on screen (median ${median(latencies)} ms; the goal is under 1000 ms)`);

  // Level filter.
  const tag = Math.random().toString(36).slice(2, 8);
  const leveled: Array<[string, string]> = (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const).map((l) => [l, `lvl-${l}-${tag}`]);
  await chatty.sayMany(leveled);
  await waitFor(async () => (await tailMessages(page)).includes(`lvl-fatal-${tag}`), { message: 'leveled lines' });
  const shownOf = async () => (await tailMessages(page)).filter((m) => m.endsWith(tag));
  t.same(await shownOf(), leveled.map(([, m]) => m), 'at trace, every level is shown, in order');
  const select = page.getByRole('combobox', { name: 'Minimum level' });
  await select.selectOption('warn');
  await waitFor(async () => (await shownOf()).length === 3, { message: 'the filter to hide lower levels' });
  t.same(await shownOf(), [`lvl-warn-${tag}`, `lvl-error-${tag}`, `lvl-fatal-${tag}`], 'at warn, only warn and above');
  t.notOk((await tailMessages(page)).some((m) => m.startsWith('bulk-')), 'info lines are hidden at warn');
  // While at warn: an info line does not show, a warn line does.
  await chatty.sayMany([['info', `while-warn-info-${tag}`], ['warn', `while-warn-warn-${tag}`]]);
  await waitFor(async () => (await tailMessages(page)).includes(`while-warn-warn-${tag}`), { message: 'warn line at warn' });
  t.notOk((await tailMessages(page)).includes(`while-warn-info-${tag}`), 'an info line written at warn is not shown');
  await select.selectOption('debug');
  await waitFor(async () => (await tailMessages(page)).includes(`while-warn-info-${tag}`), { message: 'lower levels back' });
  t.same(
    (await tailMessages(page)).filter((m) => m.includes(tag)),
    [...leveled.slice(1).map(([, m]) => m), `while-warn-info-${tag}`, `while-warn-warn-${tag}`],
    'back at debug: debug and above are shown again, including the info line written meanwhile, each once',
  );
  const positions = await tailPositions(page);
  t.equal(new Set(positions).size, positions.length, 'no line is shown twice');
  await select.selectOption('trace');
  await waitFor(async () => (await shownOf())[0] === `lvl-trace-${tag}`, { message: 'trace back' });

  // Pause: lines are held and counted; jump to live shows them.
  await page.getByRole('button', { name: 'Pause' }).click();
  await chatty.sayMany([['info', `held-1-${tag}`], ['info', `held-2-${tag}`], ['warn', `held-3-${tag}`]]);
  await waitFor(async () => /3 new lines held/.test((await page.locator('.tail-status').textContent()) ?? ''), { message: 'held count' });
  t.notOk((await tailMessages(page)).includes(`held-1-${tag}`), 'paused: new lines are held, not shown');
  await screenshot(t, page, 'log-tail-paused');
  await page.getByRole('button', { name: 'Jump to live' }).click();
  await waitFor(async () => (await tailMessages(page)).includes(`held-3-${tag}`), { message: 'held lines after resume' });
  t.same((await tailMessages(page)).filter((m) => m.startsWith('held-')), [`held-1-${tag}`, `held-2-${tag}`, `held-3-${tag}`], 'jump to live shows them in order');
  t.ok(await page.locator('.tail-status .live').isVisible(), 'live again');

  // Scrolling to the top reads older lines from history and keeps the reader's place.
  const firstBefore = (await tailMessages(page))[0]!;
  await page.locator('.log').evaluate((el) => el.scrollTo({ top: 0 }));
  await waitFor(async () => (await tailMessages(page)).includes('bulk-0'), { timeoutMs: 15_000, message: 'older lines from history' });
  const box = await page.locator('.log').evaluate((el) => ({ top: el.scrollTop }));
  t.ok(box.top > 0, 'older lines were put above without jumping the view to them');
  t.ok((await tailMessages(page)).indexOf(firstBefore) > 0, `the line that was first (${firstBefore}) now has older ones above it`);
  t.ok(await page.getByRole('button', { name: 'Jump to live' }).isVisible(), 'reading history pauses the tail, with a way back');
  await page.getByRole('button', { name: 'Jump to live' }).click();
  await chatty.say('info', `after-history-${tag}`);
  await waitFor(async () => (await tailMessages(page)).includes(`after-history-${tag}`), { message: 'live after reading history' });
  t.pass('back to live after reading history');
  await screenshot(t, page, 'log-tail-desktop');
  assertQuietConsole(t, console);
});

t.test('phone-sized screen: no horizontal overflow, every control named', async (t) => {
  const { page, context, console } = await openPage(t, browser, `${base}/#/`, PHONE);
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  const overflow = () =>
    page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, viewport: window.innerWidth }));
  let o = await overflow();
  t.ok(o.scroll <= o.viewport && o.body <= o.viewport, `servers view fits ${o.viewport} px (document ${o.scroll} px)`);
  t.same(await unnamedControls(context, page), [], 'servers view: every control has an accessible name');
  t.comment(`controls: ${(await namedControls(context, page)).join(', ')}`);
  t.ok(await page.getByRole('combobox', { name: 'Sort by' }).isVisible(), 'the sort select stands in for column headers');
  await screenshot(t, page, 'servers-phone');

  await page.locator('.fleet-row[data-server-id="chatty"] .cell-id a').click();
  await page.locator('.tail-status .live').waitFor();
  await waitFor(async () => Number(await page.locator('figure.chart[data-field="cpu"]').getAttribute('data-points')) > 2, { message: 'chart' });
  o = await overflow();
  t.ok(o.scroll <= o.viewport && o.body <= o.viewport, `server view fits ${o.viewport} px (document ${o.scroll} px)`);
  const outside = await page.evaluate(() =>
    [...document.querySelectorAll('a, button, select, input, [tabindex]')]
      .map((el) => ({ el: el.outerHTML.slice(0, 60), r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.left < -1 || r.right > window.innerWidth + 1))
      .map(({ el }) => el),
  );
  t.same(outside, [], 'every control lies within the screen width');
  t.same(await unnamedControls(context, page), [], 'server view: every control has an accessible name');
  t.comment(`controls: ${(await namedControls(context, page)).join(', ')}`);
  await screenshot(t, page, 'server-phone');
  assertQuietConsole(t, console);
});

t.test('a watched process that stops shows as exited', async (t) => {
  const { page, console } = await openPage(t, browser, `${base}/#/`);
  await page.locator('.fleet-row[data-server-id="chatty"]').waitFor();
  t.not(await cell(page, 'chatty', 'status'), 'exited');
  await chatty.exit(0); // a clean exit is not restarted
  idler.kill('SIGKILL');
  await waitFor(async () => (await cell(page, 'chatty', 'status')) === 'exited', { timeoutMs: 20_000, message: 'chatty exited on screen' });
  t.pass('chatty (a supervised command that exited with code 0) shows as exited');
  await waitFor(async () => (await cell(page, 'idler', 'status')) === 'exited', { timeoutMs: 20_000, message: 'idler exited on screen' });
  t.pass('idler (a pid target that was killed) shows as exited');
  t.equal(await cell(page, 'chatty', 'cpu'), '—', 'no live CPU figure for an exited process');
  await screenshot(t, page, 'servers-exited');
  await page.locator('.fleet-row[data-server-id="chatty"] .cell-id a').click();
  await page.locator('.server .status[data-status="exited"]').waitFor();
  t.equal(await page.locator('[data-fact="uptime"] dd').textContent(), '—', 'the server page says exited, with no uptime');
  assertQuietConsole(t, console);
});

t.teardown(() => {
  if (t.passing()) return;
  t.comment(`collector output (tail):\n${collector.output().slice(-3000)}`);
});
