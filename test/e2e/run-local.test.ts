// The README's first command, `npm ci && npm start`, runs scripts/run-local.mjs: here it runs
// with --check (start everything, verify live data through every gateway, stop) against a
// private redis-server, on free ports. turbo builds every package before this suite.
import t from 'tap';
import { freePort, startRedis } from '@vigil/testkit';
import { killAndWait, spawnRunLocal } from './helpers.js';

t.test('npm start brings the whole system up, live through every gateway, and stops it all', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const port = await freePort();
  const { child, output, exited } = spawnRunLocal(['--check', '--port', String(port), '--timeout', '120'], { VIGIL_REDIS_URL: redis.url });
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
  t.match(out, /all stopped/, 'and it stopped everything it started');
});
