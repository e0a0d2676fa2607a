// The CLI reaches a Redis that serves TLS only, trusting the CA named by VIGIL_REDIS_TLS_CA_FILE;
// a TLS file it cannot use is one fatal line with its code, whether found at load or at start.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from '@vigil/protocol';
import { closeRedis, createRedis } from '@vigil/store';
import { startRedis, waitFor } from '@vigil/testkit';
import { cli, latest, spawnChild, tempDir } from './fixtures.js';

t.test('rediss:// with the CA file: samples arrive; unusable TLS files: exit 1, one line, no stack', async (t) => {
  const dir = tempDir(t);
  const cert = join(dir, 'redis.crt');
  const key = join(dir, 'redis.key');
  // One self-signed certificate: the server's, and the CA the collector is told to trust.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  const redis = await startRedis({ tls: { certFile: cert, keyFile: key, caFile: cert } });
  t.teardown(() => redis.close());
  t.match(redis.url, /^rediss:/);
  const r = createRedis(redis.url, 'command', { tls: { ca: readFileSync(cert) } });
  t.teardown(() => closeRedis(r));
  const child = await spawnChild(t);

  const run = cli(t, ['--redis-url', redis.url, '--pid', `api=${child.pid}`, '--interval', '200'], { VIGIL_REDIS_TLS_CA_FILE: cert });
  const sample = await waitFor(() => latest(r, 'api'), { timeoutMs: 30_000, message: 'a sample over TLS' }).catch((err: Error) => {
    throw new Error(`${err.message}; collector output: ${run.output()}`);
  });
  t.match(sample, { serverId: 'api', processInfo: { pid: child.pid } }, 'the child sampled, written over TLS');
  run.proc.kill('SIGTERM');
  t.equal(await run.exited, 0, 'exit 0 on SIGTERM');

  const missing = cli(t, ['--redis-url', redis.url, '--pid', `api=${child.pid}`], { VIGIL_REDIS_TLS_CA_FILE: join(dir, 'nope.crt') });
  t.equal(await missing.exited, 1, 'an unreadable CA file: exit 1');
  t.match(missing.output(), new RegExp(`"code":"${ErrorCodes.REDIS_TLS_INVALID}".*VIGIL_REDIS_TLS_CA_FILE: cannot read`));
  t.notMatch(missing.output(), /\n\s+at /, 'no stack');

  const plain = cli(t, ['--redis-url', 'redis://127.0.0.1:1', '--pid', `api=${child.pid}`], { VIGIL_REDIS_TLS_CA_FILE: cert });
  t.equal(await plain.exited, 1, 'TLS files with a redis:// URL: exit 1');
  t.match(plain.output(), new RegExp(`"code":"${ErrorCodes.REDIS_TLS_INVALID}".*use rediss://`));
  t.notMatch(plain.output(), /\n\s+at /, 'no stack');
});
