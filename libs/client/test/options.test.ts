// Options are checked once, at creation, with messages that name the option; the client's own
// error codes are each documented in the README (and nothing undocumented is).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClientErrorCodes, createVigilClient, type VigilClientOptions } from '../src/index.js';
import { backoffDelay } from '../src/options.js';

t.test('invalid options throw VIGIL_ERR_CONFIG_INVALID naming the option', async (t) => {
  const cases: Array<[string, VigilClientOptions]> = [
    ['url', { url: 'localhost:3001' }],
    ['transports', { url: 'http://127.0.0.1:1', transports: [] }],
    ['reconnection.maxDelayMs', { url: 'http://127.0.0.1:1', reconnection: { maxDelayMs: -1 } }],
    ['reconnection.randomization', { url: 'http://127.0.0.1:1', reconnection: { randomization: 1 } }],
    ['ackTimeoutMs', { url: 'http://127.0.0.1:1', ackTimeoutMs: 0 }],
    ['token', { url: 'http://127.0.0.1:1', token: '' }],
    ['token', { url: 'http://127.0.0.1:1', token: 'x'.repeat(10_000) }],
    ['silentIntervals', { url: 'http://127.0.0.1:1', silentIntervals: 0.5 }],
    ['silentIntervals', { url: 'http://127.0.0.1:1', silentIntervals: -1 }],
  ];
  for (const [name, options] of cases) {
    t.throws(() => createVigilClient(options), { code: 'VIGIL_ERR_CONFIG_INVALID', message: new RegExp(name.replace('.', '\\.')) }, name);
  }
});

t.test('backoff doubles from the initial delay up to the cap, with bounded jitter', async (t) => {
  const r = { initialDelayMs: 100, maxDelayMs: 1000, randomization: 0, maxAttempts: Infinity };
  t.same([0, 1, 2, 3, 4, 10, 1000].map((n) => backoffDelay(n, r)), [100, 200, 400, 800, 1000, 1000, 1000]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, { ...r, randomization: 0.5 });
    if (d < 200 || d > 600) t.fail(`jittered delay out of range: ${d}`);
  }
});

t.test('every client error code is documented in the README, and only those', async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  for (const code of Object.values(ClientErrorCodes)) t.match(readme, `\`${code}\``, `${code} is documented`);
  const documented = [...readme.matchAll(/`(VIGIL_ERR_CLIENT_[A-Z_]+)`/g)].map((m) => m[1]);
  const known = new Set<string>(Object.values(ClientErrorCodes));
  for (const code of documented) t.ok(known.has(code!), `${code} in the README exists in the registry`);
});
