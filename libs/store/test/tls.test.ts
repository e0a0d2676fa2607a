// Redis over TLS against a real redis-server serving TLS only, with a CA, server and client
// certificates made by openssl for this run.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@vigil/protocol';
import { startRedis } from '@vigil/testkit';
import { closeRedis, createRedis, redisTlsFromEnv } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate for `cn`, signed by `ca` (or self-signed when ca is null). */
function issue(name: string, cn: string, ca: string | null, ext = ''): void {
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`);
  writeFileSync(file(`${name}.ext`), ext);
  const signer = ca ? ['-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial'] : ['-signkey', file(`${name}.key`)];
  openssl('x509', '-req', '-in', file(`${name}.csr`), ...signer, '-days', '1', '-out', file(`${name}.crt`), '-extfile', file(`${name}.ext`));
}

issue('ca', 'vigil test CA', null, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
issue('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
issue('client', 'vigil-gateway', 'ca', 'extendedKeyUsage=clientAuth\n');
const serverTls = { certFile: file('server.crt'), keyFile: file('server.key'), caFile: file('ca.crt') };

const env = (o: { ca?: string; cert?: string; key?: string }) => ({
  VIGIL_REDIS_TLS_CA_FILE: o.ca,
  VIGIL_REDIS_TLS_CERT_FILE: o.cert,
  VIGIL_REDIS_TLS_KEY_FILE: o.key,
});

/** PING through a fresh 'command' connection: 'PONG', or the reason the connection failed. */
async function ping(url: string, tls: ReturnType<typeof redisTlsFromEnv>): Promise<string> {
  let lastError = '';
  const client = createRedis(url, 'command', { tls, onError: (err) => (lastError = err.message) });
  try {
    return await client.ping();
  } catch (err) {
    return `refused: ${lastError || (err as Error).message}`;
  } finally {
    await closeRedis(client);
  }
}

t.test('TLS files from the environment are read and checked at start', async (t) => {
  t.equal(redisTlsFromEnv({}), undefined, 'no variable: no TLS material (a rediss:// URL then uses the built-in CAs)');
  t.equal(redisTlsFromEnv(env({ ca: '' })), undefined, 'empty values count as unset');
  const ok = redisTlsFromEnv(env({ ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') }));
  t.ok(ok?.ca && ok.cert && ok.key, 'CA, certificate and key read');
  const refused = (e: Record<string, string | undefined>, message: RegExp, what: string) =>
    t.throws(() => redisTlsFromEnv(e), { code: ErrorCodes.REDIS_TLS_INVALID, message }, what);
  refused(env({ ca: file('missing.crt') }), /VIGIL_REDIS_TLS_CA_FILE: cannot read ".*missing\.crt" \(ENOENT\)/, 'an unreadable CA file');
  refused(env({ ca: file('client.ext') }), /VIGIL_REDIS_TLS_CA_FILE: ".*" is not a PEM file/, 'a CA file that is not PEM');
  refused(env({ cert: file('client.crt') }), /VIGIL_REDIS_TLS_CERT_FILE and VIGIL_REDIS_TLS_KEY_FILE go together/, 'a certificate without its key');
  refused(env({ key: file('client.key') }), /go together/, 'a key without its certificate');
  try {
    redisTlsFromEnv(env({ cert: file('client.crt'), key: file('server.key') }));
    t.fail('a certificate with the wrong key is refused');
  } catch (err) {
    t.match(err, { code: ErrorCodes.REDIS_TLS_INVALID, message: /not usable together/ }, 'a certificate with the wrong key is refused');
    t.notMatch((err as Error).message, /PRIVATE KEY/, 'the message never quotes a key');
  }
  t.throws(
    () => createRedis('redis://127.0.0.1:6379', 'command', { tls: ok }),
    { code: ErrorCodes.REDIS_TLS_INVALID, message: /use rediss:\/\// },
    'TLS files with a redis:// URL are refused, not silently sent in the clear',
  );
});

t.test('a TLS-only Redis: reached with the CA file, refused without it', async (t) => {
  const redis = await startRedis({ tls: serverTls });
  t.teardown(() => redis.close());
  t.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
  t.equal(await ping(redis.url, redisTlsFromEnv(env({ ca: file('ca.crt') }))), 'PONG', 'rediss:// with the CA file: PONG');
  t.match(await ping(redis.url, undefined), /^refused: .*(self[- ]signed|unable to get local issuer)/i, 'without the CA the server certificate is not trusted');
  t.match(await ping(redis.url.replace('rediss:', 'redis:'), undefined), /^refused/, 'plain TCP to the TLS port gets nowhere');
});

t.test('mutual TLS: a Redis that requires a client certificate', async (t) => {
  const redis = await startRedis({ tls: { ...serverTls, authClients: true, clientCertFile: file('client.crt'), clientKeyFile: file('client.key') } });
  t.teardown(() => redis.close());
  t.match(await ping(redis.url, redisTlsFromEnv(env({ ca: file('ca.crt') }))), /^refused/, 'without a client certificate: refused');
  const mutual = redisTlsFromEnv(env({ ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') }));
  t.equal(await ping(redis.url, mutual), 'PONG', 'with the client certificate and key: PONG');
});
