// The README's first command, `npm ci && npm start`, runs scripts/run-local.mjs: here it runs
// with --check (start everything, verify live data through every gateway, stop) against a
// private redis-server, on free ports. turbo builds every package before this suite.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis } from '@vigil/testkit';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('npm start brings the whole system up, live through every gateway, and stops it all', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const port = await freePort();
  const child = spawn(process.execPath, ['scripts/run-local.mjs', '--check', '--port', String(port), '--timeout', '120'], {
    cwd: root,
    env: { ...process.env, VIGIL_REDIS_URL: redis.url, REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const summary = /check: (\d+) passed, (\d+) failed/.exec(out);
  t.comment(summary ? summary[0] : out.slice(-2000));
  t.equal(code, 0, 'the run script exits 0 after its checks');
  t.ok(summary && Number(summary[1]) > 20 && summary[2] === '0', 'every check passed');
  t.match(out, /all stopped/, 'and it stopped everything it started');
});
