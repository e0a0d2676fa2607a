// The README's first command, `npm ci && npm start`, runs scripts/run-local.mjs: here it runs
// with --check (start everything, verify live data through every gateway, stop) against a
// private redis-server, on free ports; then as a person runs it, whose first step is the printed
// dashboard link, which must sign in. turbo builds every package before this suite.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { killAndWait, spawnRunLocal } from './helpers.js';

t.test('npm start brings the whole system up, live through every gateway, and stops it all', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const port = await freePort();
  // VIGIL_AUTH_SECRET empty: the run makes its own secret, as a plain `npm start` does.
  const { child, output, exited } = spawnRunLocal(['--check', '--port', String(port), '--timeout', '120'], { VIGIL_REDIS_URL: redis.url, VIGIL_AUTH_SECRET: '' });
  // Registered after redis.close(), so it runs first: the run is gone before its Redis is.
  t.teardown(() => killAndWait(child, 'SIGINT'));
  const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
  const code = await exited;
  clearTimeout(timer);
  const out = output();
  const summary = /check: (\d+) passed, (\d+) failed/.exec(out);
  t.comment(summary ? summary[0] : out.slice(-2000));
  t.equal(code, 0, 'the run script exits 0 after its checks');
  t.ok(summary && Number(summary[1]) > 20 && summary[2] === '0', 'every check passed');
  t.match(out, /ok\s+load balancer GET \/api\/servers without a token answers 401/, 'the check saw REST refuse a request without a token');
  t.match(out, /all stopped/, 'and it stopped everything it started');
});

t.test('npm start prints a dashboard link that signs in, and a token that REST and Socket.IO examples carry', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-run-local-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const readyFile = join(dir, 'ready.json');
  const port = await freePort();
  const { child, output, exited } = spawnRunLocal(['--port', String(port), '--ready-file', readyFile], { VIGIL_REDIS_URL: redis.url, VIGIL_AUTH_SECRET: '' });
  t.teardown(() => killAndWait(child, 'SIGINT'));
  // A run that exited ends the wait at once (a throw in the probe would only be retried until the deadline).
  await waitFor(() => child.exitCode !== null || child.signalCode !== null || existsSync(readyFile), {
    timeoutMs: 120_000,
    intervalMs: 100,
    message: 'the run to be up (its ready file)',
  });
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`run-local exited (${child.exitCode ?? child.signalCode}):\n${output().slice(-3000)}`);
  const out = output();
  const link = /Dashboard:\s+(http:\/\/\S+)/.exec(out)?.[1];
  t.ok(link, `a dashboard link is printed (${link?.replace(/#token=.*/, '#token=…')})`);
  const url = new URL(link!);
  t.equal(url.origin, `http://127.0.0.1:${port}`, 'on the load balancer');
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'its fragment holds a token (#token=<jwt>), never its query');
  t.equal(url.search, '', 'no query string');
  const api = `${url.origin}/api/servers`;
  t.equal((await fetch(api, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the gateway accepts the token: GET /api/servers with it is 200');
  t.equal((await fetch(api)).status, 401, 'and refuses a request without one: 401');
  t.equal((await fetch(`${url.origin}/`)).status, 200, 'the page behind the link is served');
  t.match(out, `curl -s -H "Authorization: Bearer ${token}" ${url.origin}/api/servers/`, 'the curl example carries the token as a bearer');
  t.match(out, `{auth:{token:'${token}'}}`, 'the Socket.IO one-liner sends it in the handshake');
  const info = JSON.parse(readFileSync(readyFile, 'utf8')) as { token: string; runDir: string; gateways: { pid: number }[] };
  t.equal(info.token, token, 'the ready file holds the same token');
  t.equal(statSync(readyFile).mode & 0o777, 0o600, 'the ready file (it holds the token) is readable by its owner only');
  // The generated secret reaches the gateways only as a file; find it as they do, by their environment.
  const environ = readFileSync(`/proc/${info.gateways[0]!.pid}/environ`, 'utf8').split('\0');
  const secretFile = environ.find((v) => v.startsWith('VIGIL_AUTH_SECRET_FILE='))?.slice('VIGIL_AUTH_SECRET_FILE='.length);
  t.ok(secretFile, 'the gateways get the secret as VIGIL_AUTH_SECRET_FILE');
  t.notOk(environ.some((v) => v.startsWith('VIGIL_AUTH_SECRET=') && v.length > 'VIGIL_AUTH_SECRET='.length), 'and never as VIGIL_AUTH_SECRET in their environment');
  t.equal(statSync(secretFile!).mode & 0o777, 0o600, 'the secret file is readable by its owner only');
  const secret = readFileSync(secretFile!, 'utf8');
  t.ok(secret.length >= 32, 'the generated secret is long enough for the gateway (at least 32 bytes)');
  t.notOk(out.includes(secret), 'npm start never prints its secret');
  const logs = readdirSync(info.runDir).filter((name) => name.endsWith('.log'));
  t.ok(logs.length > 0, 'the run writes logs');
  t.same(logs.filter((name) => readFileSync(join(info.runDir, name), 'utf8').includes(secret)), [], 'no log of the run holds the secret');
  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops the run, exit 0');
  t.notOk(existsSync(readyFile), 'and its ready file is gone');
});
