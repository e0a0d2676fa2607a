// Auth configuration: safe by default (no key, no start), one clear line naming the variables, never a secret.
import t, { type Test } from 'tap';
import { ErrorCodes } from '@vigil/protocol';
import { AUTH_OFF_WARNING, authSettingsFromEnv, readAuthConfig, resolveAuth } from '../src/auth/auth-config.js';
import { TEST_SECRET, keyPair, writeKeyFile } from './auth-keys.js';

async function configError(t: Test, run: () => unknown, message: RegExp, what: string, secret?: string) {
  const err = (await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
  t.equal(err?.code, ErrorCodes.AUTH_CONFIG_INVALID, `${what}: AUTH_CONFIG_INVALID`);
  t.match(err?.message, message, `${what}: says what to do`);
  t.notMatch(err?.message ?? '', /\n/, `${what}: one line`);
  if (secret) t.notOk(err?.message?.includes(secret), `${what}: the secret is not in the message`);
}

t.test('no key and no VIGIL_AUTH=none: refused, naming every variable', async (t) => {
  await configError(t, () => readAuthConfig({}), /VIGIL_AUTH_SECRET.*VIGIL_AUTH_SECRET_FILE.*VIGIL_AUTH_PUBLIC_KEY_FILE.*VIGIL_AUTH=none/, 'empty env');
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_SECRET: '', VIGIL_AUTH: 'jwt' }), /no auth key/, 'empty values count as unset');
  await configError(t, () => readAuthConfig({ VIGIL_AUTH: 'off' }), /"jwt" or "none"/, 'an unknown mode');
  await configError(t, () => resolveAuth({ mode: 'jwt' }), /no auth key/, 'options without a key');
});

t.test('VIGIL_AUTH=none: auth off, with the warning to log at every start', async (t) => {
  const config = await readAuthConfig({ VIGIL_AUTH: 'none' });
  t.same(config, { mode: 'none', warning: AUTH_OFF_WARNING });
  t.match(AUTH_OFF_WARNING, /authentication is off/);
  await configError(t, () => readAuthConfig({ VIGIL_AUTH: 'none', VIGIL_AUTH_SECRET: TEST_SECRET }), /conflicts with VIGIL_AUTH_SECRET/, 'none with a key', TEST_SECRET);
});

t.test('HS256 secret: at least 32 bytes, from the env or a file', async (t) => {
  const short = 'x'.repeat(31);
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_SECRET: short }), /VIGIL_AUTH_SECRET is too short: 31 bytes, at least 32/, '31 bytes', short);
  await configError(t, () => resolveAuth({ mode: 'jwt', secret: short }), /too short/, '31 bytes as an option', short);
  const config = await readAuthConfig({ VIGIL_AUTH_SECRET: 'y'.repeat(32) });
  t.match(config, { mode: 'jwt', audience: 'vigil', issuer: undefined });
  if (config.mode === 'jwt') t.same(config.keys.algorithms, ['HS256'], 'only HS256');
  // Multi-byte characters count as their UTF-8 bytes: 16 × "é" is 32 bytes.
  t.equal((await readAuthConfig({ VIGIL_AUTH_SECRET: 'é'.repeat(16) })).mode, 'jwt');

  const dir = t.testdir();
  const file = writeKeyFile(dir, 'secret', `${TEST_SECRET}\n`);
  const fromFile = await readAuthConfig({ VIGIL_AUTH_SECRET_FILE: file, VIGIL_AUTH_AUDIENCE: 'ops', VIGIL_AUTH_ISSUER: 'https://id.example' });
  t.match(fromFile, { mode: 'jwt', audience: 'ops', issuer: 'https://id.example' });
  if (fromFile.mode === 'jwt') t.equal(new TextDecoder().decode((await fromFile.keys.current()) as Uint8Array), TEST_SECRET, 'the trailing newline is not part of the secret');
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_SECRET_FILE: writeKeyFile(dir, 'short', `${short}\n`) }), /VIGIL_AUTH_SECRET_FILE is too short/, 'a short secret file', short);
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_SECRET_FILE: `${dir}/missing` }), /VIGIL_AUTH_SECRET_FILE cannot be read \(ENOENT/, 'a missing file');
});

t.test('one key at a time', async (t) => {
  await configError(
    t,
    () => readAuthConfig({ VIGIL_AUTH_SECRET: TEST_SECRET, VIGIL_AUTH_PUBLIC_KEY_FILE: '/etc/vigil/key.pem' }),
    /VIGIL_AUTH_SECRET and VIGIL_AUTH_PUBLIC_KEY_FILE are both set/,
    'secret and public key',
    TEST_SECRET,
  );
  t.throws(() => authSettingsFromEnv({ VIGIL_AUTH_SECRET: TEST_SECRET, VIGIL_AUTH_SECRET_FILE: '/x' }), { code: ErrorCodes.AUTH_CONFIG_INVALID }, 'checked before any file is read');
});

t.test('public key files: PEM or JWKS, never a private key, never echoed', async (t) => {
  const dir = t.testdir();
  const pair = keyPair('ES256', 'k1');
  const pem = await readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'pub.pem', pair.pem) });
  t.match(pem, { mode: 'jwt', keys: { describe: 'ES256 public key', algorithms: ['RS256', 'ES256', 'EdDSA'] } });
  const jwks = await readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'jwks.json', JSON.stringify({ keys: [pair.jwk] })) });
  t.match(jwks, { keys: { describe: 'JWKS of 1 key(s)' } });
  const privatePem = (pair.signing.key as import('node:crypto').KeyObject).export({ type: 'pkcs8', format: 'pem' }).toString();
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'priv.pem', privatePem) }), /holds a private key/, 'a private PEM', privatePem);
  const privateJwk = (pair.signing.key as import('node:crypto').KeyObject).export({ format: 'jwk' });
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'priv.json', JSON.stringify({ keys: [privateJwk] })) }), /is a private key/, 'a private JWK', String(privateJwk.d));
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'junk', 'hunter2-not-a-key') }), /not a PEM public key or a JWKS/, 'junk', 'hunter2');
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'nokeys.json', '{"keys":[]}') }), /no "keys"/, 'an empty JWKS');
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'oct.json', JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })) }), /not an RSA, EC or OKP/, 'a symmetric JWK', 'c2VjcmV0');
  const p384 = (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await configError(t, () => readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: writeKeyFile(dir, 'p384.pem', p384) }), /unsupported key type ec \(secp384r1\)/, 'a P-384 key');
});
