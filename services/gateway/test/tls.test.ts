// A gateway on a Redis that serves TLS only: the CA file named by VIGIL_REDIS_TLS_CA_FILE is read
// by the same env reader the executable uses, and every connection (commands, pub/sub, adapter)
// goes over TLS: ready, REST from Redis, live samples through the sharded adapter.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerEvents } from '@vigil/protocol';
import { selfSignedCertificate, startRedis, waitFor } from '@vigil/testkit';
import { readEnvConfig } from '../src/env-config.js';
import { FakeCollector, collect, connectClient, emitAck, startGateway } from './helpers.js';

t.test('rediss:// with the CA file from the environment: ready, REST and live samples over TLS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-gateway-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // One self-signed certificate: the server's, and the CA the gateway is told to trust.
  const { cert, key } = selfSignedCertificate(dir);
  const redis = await startRedis({ tls: { certFile: cert, keyFile: key, caFile: cert } });
  t.teardown(() => redis.close());
  t.match(redis.url, /^rediss:/, 'the Redis serves TLS only');

  const config = readEnvConfig({ VIGIL_AUTH: 'none', VIGIL_REDIS_URL: redis.url, VIGIL_REDIS_TLS_CA_FILE: cert });
  t.ok(config.redisTls?.ca, 'VIGIL_REDIS_TLS_CA_FILE is read into redisTls');
  const gw = await startGateway(config.options.redisUrl, { redisTls: config.redisTls! });
  t.teardown(() => gw.close());
  const collector = new FakeCollector(redis.url, config.redisTls);
  t.teardown(() => collector.close());

  const ready = await waitFor(async () => ((await gw.inject('/readyz')).statusCode === 200 ? true : null), { timeoutMs: 10_000, message: 'the gateway to be ready over TLS' });
  t.ok(ready, '/readyz is 200: Redis answers over TLS');
  await collector.sample('api', 1);
  const res = await gw.inject('/api/servers/api');
  t.equal(res.statusCode, 200, 'REST reads the registry over TLS');

  const client = await connectClient(gw.url);
  t.teardown(() => client.close());
  const samples = collect<{ serverId: string }>(client, ServerEvents.processInfo);
  t.match(await emitAck(client, 'subscribe-server-metrics', { serverId: 'api' }), { ok: true }, 'subscribed');
  const before = samples.length;
  await waitFor(
    async () => {
      await collector.sample('api', 2);
      return samples.length > before;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'a live sample through the adapter over TLS' },
  );
  t.match(samples.at(-1), { serverId: 'api' }, 'a live sample reaches the client: pub/sub over TLS');
});
