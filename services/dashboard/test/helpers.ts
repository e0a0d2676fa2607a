// Browser-test fixtures: a real stack (redis-server, gateways built from source serving the built
// dashboard, the collector's CLI supervising a steerable process), headless Chromium driven by
// playwright-core with every console message of the page recorded, and screenshots. Everything a
// fixture starts is stopped by the teardown it registers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApp, mintToken, secretKey, type GatewayOptions, type TokenClaims } from '@vigil/gateway';
import { freePort, reapOnExit, startRedis, waitFor, type RedisProcess } from '@vigil/testkit';

type Teardown = { teardown(fn: () => unknown): void; comment(...args: unknown[]): void };

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
export const DIST = here('../dist/');
export const SCREENSHOTS = here('../test-output/screenshots/');
const COLLECTOR_CLI = here('../../collector/src/cli.ts');
const CHATTY = here('./fixtures/chatty.mjs');
export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
/** Test gateways verify real tokens signed with this run's random secret, unless a test says otherwise. */
export const TEST_AUTH = { mode: 'jwt', secret: randomBytes(32).toString('base64') } as const satisfies GatewayOptions['auth'];

/** A real token for TEST_AUTH: by default subject `dashboard-test`, every server and its logs, one hour. */
export function testToken(claims: Partial<TokenClaims> = {}): Promise<string> {
  return mintToken(secretKey(TEST_AUTH.secret), { sub: 'dashboard-test', vigil: { servers: ['*'], logs: true }, ttlSeconds: 3600, ...claims });
}

/**
 * The token pages sign in with and REST calls carry: `VIGIL_TEST_TOKEN` when given (for a gateway
 * of your own), else a real token for TEST_AUTH that sees everything for the whole run.
 */
export const TEST_TOKEN: string = process.env.VIGIL_TEST_TOKEN || (await testToken({ sub: 'dashboard-test-all', ttlSeconds: 6 * 3600 }));

/** GET a gateway's REST API with TEST_TOKEN as the bearer, as JSON (throws on a non-2xx answer). */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

// ---- gateways -----------------------------------------------------------------------------

export type Gateway = {
  app: Awaited<ReturnType<typeof buildApp>>;
  port: number;
  url: string;
  /** Sockets of the dashboard namespace connected to this gateway. */
  clients(): number;
  close(): Promise<void>;
};

/** A gateway serving the built dashboard, on `port` (a free one by default), verifying TEST_AUTH tokens; `options` go to buildApp (e.g. other auth). */
export async function startGateway(redisUrl: string, port = 0, options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  if (!existsSync(`${DIST}index.html`)) {
    throw new Error(`the dashboard is not built (${DIST}index.html is missing): run \`npm run build\` first`);
  }
  const app = await buildApp({ redisUrl, dashboardDir: DIST, staleSweepMs: 200, auth: TEST_AUTH, ...options });
  await app.listen({ host: '127.0.0.1', port });
  const bound = (app.server.address() as AddressInfo).port;
  let closed = false;
  return {
    app,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    clients: () => (closed ? 0 : app.io.of('/monitoring').sockets.size),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

export async function redis(t: Teardown): Promise<RedisProcess> {
  const r = await startRedis();
  t.teardown(() => r.close());
  return r;
}

// ---- collector and watched processes -------------------------------------------------------

export type Service = { child: ChildProcess; output(): string; stop(): Promise<void> };

/** The collector's CLI from its sources (samples every 500 ms), stopped with SIGTERM at teardown. */
export function startCollector(t: Teardown, redisUrl: string, id: string, args: string[]): Service {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=vigil:source', COLLECTOR_CLI, '--redis-url', redisUrl, '--collector-id', id, '--host', `${id}-host`, '--interval', '500', ...args],
    { env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  reapOnExit(child, 'SIGTERM');
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(stop);
  return { child, output: () => out, stop };
}

/** A plain process that idles until killed (for `pid` targets). */
export function spawnIdler(t: Teardown): ChildProcess {
  const child = reapOnExit(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * The steerable process (test/fixtures/chatty.mjs), run by the collector as a `command` target:
 * its stdout becomes the server's log lines.
 */
export class Chatty {
  readonly port: number;
  constructor(port: number) {
    this.port = port;
  }

  static async create(): Promise<Chatty> {
    return new Chatty(await freePort());
  }

  /** `--command <id>=<cmdline>` for the collector. */
  commandFlag(id: string): string[] {
    return ['--command', `${id}='${process.execPath}' '${CHATTY}' ${this.port}`];
  }

  async ready(timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${this.port}/`).catch(() => null))?.status === 404, {
      timeoutMs,
      message: `chatty on port ${this.port} to answer`,
    });
  }

  /** Prints one line; resolves when it was written to stdout, with the time just before asking. */
  async say(level: string, text: string): Promise<number> {
    const at = Date.now();
    await this.#get(`/say?level=${encodeURIComponent(level)}&text=${encodeURIComponent(text)}`);
    return at;
  }

  async sayMany(lines: Array<[string, string]>): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.port}/say`, { method: 'POST', body: JSON.stringify(lines) });
    if (!res.ok) throw new Error(`chatty /say: ${res.status}`);
    await res.text();
  }

  cpu(percent: number): Promise<void> {
    return this.#get(`/cpu?pct=${percent}`);
  }

  exit(code: number): Promise<void> {
    return this.#get(`/exit?code=${code}`);
  }

  async #get(path: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
    if (!res.ok) throw new Error(`chatty ${path}: ${res.status}`);
    await res.text();
  }
}

// ---- browser ------------------------------------------------------------------------------

export async function launchBrowser(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

export type ConsoleEntry = { type: string; text: string; at: number };
export type OpenedPage = { page: Page; context: BrowserContext; console: ConsoleEntry[] };

export const DESKTOP = { viewport: { width: 1280, height: 900 } };
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/**
 * A fresh context and page, every console message and page error recorded, closed at teardown.
 * With a token (TEST_TOKEN by default), the page signs in the way a user's link does — the token in
 * the fragment (`#token=…`), which the dashboard moves to sessionStorage — then goes to `url`.
 */
export async function openPage(
  t: Teardown,
  browser: Browser,
  url: string,
  device: typeof DESKTOP | typeof PHONE = DESKTOP,
  token: string | null = TEST_TOKEN,
): Promise<OpenedPage> {
  const context = await browser.newContext(device);
  t.teardown(() => context.close());
  const page = await context.newPage();
  const entries: ConsoleEntry[] = [];
  page.on('console', (m) => entries.push({ type: m.type(), text: m.text(), at: Date.now() }));
  page.on('pageerror', (e) => entries.push({ type: 'pageerror', text: `${e.name}: ${e.message}`, at: Date.now() }));
  if (token !== null) {
    await page.goto(`${new URL(url).origin}/#token=${encodeURIComponent(token)}`);
    await page.waitForFunction(() => !location.hash.includes('token='));
  }
  await page.goto(url);
  return { page, context, console: entries };
}

/** A JWT-shaped token with these claims and no valid signature: what the dashboard decodes, not what a gateway accepts. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('not-a-signature').toString('base64url')}`;
}

type Assert = Teardown & { same(found: unknown, wanted: unknown, message: string): unknown };

/**
 * The page logged no error or warning of its own. `allowed` names browser messages that are
 * expected (a refused connection while the test keeps the gateway down).
 */
export function assertQuietConsole(t: Assert, entries: ConsoleEntry[], allowed?: RegExp): void {
  const problems = entries.filter((e) => ['error', 'warning', 'pageerror', 'assert'].includes(e.type) && !allowed?.test(e.text));
  const tolerated = allowed ? entries.filter((e) => allowed.test(e.text)) : [];
  t.same(problems, [], `the page logged no error or warning (${entries.length} console messages${tolerated.length ? `, ${tolerated.length} expected network failures while the gateway was down` : ''})`);
}

export async function screenshot(t: Teardown, page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  t.comment(`screenshot: ${path}`);
  return path;
}

const CONTROL_ROLES = new Set(['button', 'link', 'combobox', 'textbox', 'searchbox', 'checkbox', 'radio', 'slider', 'spinbutton', 'switch', 'tab', 'menuitem', 'listbox']);

/** Controls in Chromium's own accessibility tree that have no accessible name. */
export async function unnamedControls(context: BrowserContext, page: Page): Promise<string[]> {
  const cdp = await context.newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: Array<{ ignored: boolean; role?: { value?: string }; name?: { value?: string } }>;
    };
    const controls = nodes.filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)));
    if (controls.length === 0) return ['(no control found at all)'];
    return controls.filter((n) => !String(n.name?.value ?? '').trim()).map((n) => String(n.role?.value));
  } finally {
    await cdp.detach();
  }
}

/** Controls and their names, for the test log. */
export async function namedControls(context: BrowserContext, page: Page): Promise<string[]> {
  const cdp = await context.newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: Array<{ ignored: boolean; role?: { value?: string }; name?: { value?: string } }>;
    };
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(String(n.role?.value)))
      .map((n) => `${n.role?.value} "${n.name?.value ?? ''}"`);
  } finally {
    await cdp.detach();
  }
}

/** Text of one cell of a server's row in the servers view. */
export async function cell(page: Page, serverId: string, field: 'host' | 'collector' | 'status' | 'cpu' | 'rss' | 'uptime'): Promise<string> {
  return ((await page.locator(`.fleet-row[data-server-id="${serverId}"] [data-field="${field}"]`).textContent({ timeout: 5000 })) ?? '').trim();
}

/** Ids of the rows the servers view has in the DOM, in display order (elements are reused, so DOM order is not it). */
export function listedIds(page: Page): Promise<string[]> {
  return page.locator('.fleet-row').evaluateAll((rows) =>
    rows
      .map((r) => ({ at: Number(r.getAttribute('aria-rowindex')), id: (r as HTMLElement).dataset['serverId'] ?? '' }))
      .sort((a, b) => a.at - b.at)
      .map((r) => r.id),
  );
}

/** Seconds in a duration as the dashboard writes it (`42s`, `3m 05s`, `2h 07m`, `1d 4h`); NaN for `—`. */
export function durationSeconds(text: string): number {
  const m = /^(?:(\d+)d )?(?:(\d+)h ?)?(?:(\d+)m ?)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return Number.NaN;
  const [, d, h, min, s] = m.map((v) => Number(v ?? 0));
  return d! * 86_400 + h! * 3600 + min! * 60 + s!;
}

/**
 * Records in the page, by Date.now(), when a log line with a given message first shows up in the
 * tail: `window.__seen[message]`. Same machine, same clock as the test's Date.now().
 */
export async function watchLogLines(page: Page): Promise<void> {
  // A string, not a function: tsx's keepNames helpers do not exist in the page.
  await page.evaluate(`(() => {
    if (window.__seen) return;
    const seen = (window.__seen = {});
    const note = (node) => {
      if (!(node instanceof HTMLElement)) return;
      const rows = node.matches('.line') ? [node] : [...node.querySelectorAll('.line')];
      const now = Date.now();
      for (const row of rows) {
        const message = row.querySelector('.msg')?.textContent ?? '';
        if (!(message in seen)) seen[message] = now;
      }
    };
    document.querySelectorAll('.line').forEach(note);
    new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(note))).observe(document.body, { childList: true, subtree: true });
  })()`);
}

export async function seenAt(page: Page, message: string): Promise<number | null> {
  return page.evaluate((m) => (window as unknown as { __seen?: Record<string, number> }).__seen?.[m] ?? null, message);
}

/** Messages of the log lines on screen, in order. */
export async function tailMessages(page: Page): Promise<string[]> {
  return page.locator('.log .line .msg').allTextContents();
}

export async function tailPositions(page: Page): Promise<string[]> {
  return page.locator('.log .line').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset['position'] ?? ''));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
