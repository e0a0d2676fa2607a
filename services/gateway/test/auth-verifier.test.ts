// Token verification with real crypto: what is accepted, and each way a token is refused, with its code.
import t, { type Test } from 'tap';
import { utimesSync, writeFileSync } from 'node:fs';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ErrorCodes, type ErrorCode } from '@vigil/protocol';
import { resolveAuth, type AuthSettings } from '../src/auth/auth-config.js';
import { createVerifier, type Verifier } from '../src/auth/verifier.js';
import { mintToken, secretKey, type SigningKey } from '../src/auth/mint.js';
import { loadPublicKeys } from '../src/auth/verify-keys.js';
import { TEST_SECRET, keyPair, writeKeyFile } from './auth-keys.js';

const WEB = { servers: ['web-*'] };
const hs = secretKey(TEST_SECRET);

async function verifierFor(settings: Partial<Extract<AuthSettings, { mode: 'jwt' }>> = { secret: TEST_SECRET }): Promise<Verifier> {
  return createVerifier(await resolveAuth({ mode: 'jwt', ...settings }));
}

async function refused(t: Test, verifier: Verifier, token: unknown, code: ErrorCode, message: RegExp, what: string) {
  const err = (await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; message?: string } | undefined;
  t.equal(err?.code, code, `${what}: refused with ${code}`);
  t.match(err?.message, message, `${what}: the message says why`);
  if (typeof token === 'string' && token.length > 8) t.notOk(err?.message?.includes(token), `${what}: the token is not echoed`);
}

/** A token with exactly the claims given (for the claims mintToken would never leave out). */
function raw(claims: Record<string, unknown>, key: SigningKey = hs): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg }).sign(key.key);
}
const nowS = () => Math.floor(Date.now() / 1000);

t.test('HS256: a good token gives its permissions', async (t) => {
  const verifier = await verifierFor();
  t.ok(verifier.enabled);
  const token = await mintToken(hs, { sub: 'alice', vigil: { servers: ['web-*', 'db-1'], logs: true }, ttlSeconds: 600 });
  const p = await verifier.verify(token);
  t.equal(p.subject, 'alice');
  t.ok(p.canSee('web-1') && p.canSee('web-zz') && p.canSee('db-1'), 'sees what its globs match');
  t.notOk(p.canSee('db-2') || p.canSee('xweb-1'), 'and nothing else');
  t.equal(p.logs, true);
  t.equal(p.admin, false);
  t.ok(Math.abs(p.expiresAt - (Date.now() + 600_000)) < 2000, 'expiresAt is exp in ms');
  const metricsOnly = await verifier.verify(await mintToken(hs, { sub: 'bob', vigil: WEB, ttlSeconds: 60 }));
  t.equal(metricsOnly.logs, false, 'logs default to false');
});

t.test('each bad token is refused with its code', async (t) => {
  const verifier = await verifierFor();
  const U = ErrorCodes.UNAUTHORIZED;
  await refused(t, verifier, undefined, U, /no token/, 'no token');
  await refused(t, verifier, '', U, /no token/, 'empty token');
  await refused(t, verifier, 42, U, /no token/, 'a number');
  await refused(t, verifier, 'garbage-not-a-jwt', U, /malformed/, 'garbage');
  await refused(t, verifier, 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm9wZQ', U, /signature|malformed/, 'a mangled JWT');
  await refused(t, verifier, 'x'.repeat(9000), U, /longer than/, 'an oversized token');
  const other = secretKey('another-secret-that-is-32-bytes-long!!');
  await refused(t, verifier, await mintToken(other, { sub: 'a', vigil: WEB, ttlSeconds: 60 }), U, /bad signature/, 'bad signature');
  await refused(t, verifier, await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, audience: 'not-vigil' }), U, /wrong audience/, 'wrong audience');
  await refused(t, verifier, await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, now: Date.now() - 120_000 }), ErrorCodes.TOKEN_EXPIRED, /expired at/, 'expired');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', vigil: WEB }), U, /no "exp"/, 'missing exp');
  await refused(t, verifier, await raw({ aud: 'vigil', exp: nowS() + 60, vigil: WEB }), U, /no "sub"/, 'missing sub');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', exp: nowS() + 60 }), U, /no "vigil" claim/, 'missing claim');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', exp: nowS() + 60, vigil: { servers: '*' } }), U, /invalid "vigil" claim: \/servers/, 'servers not a list');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', exp: nowS() + 60, vigil: { servers: ['web/1'] } }), U, /invalid "vigil" claim/, 'a glob with a slash');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', exp: nowS() + 60, vigil: { servers: ['*'], root: true } }), U, /invalid "vigil" claim/, 'an unknown permission');
  await refused(t, verifier, await raw({ sub: 'a', aud: 'vigil', exp: nowS() + 60, vigil: { servers: ['*'], logs: 'yes' } }), U, /invalid "vigil" claim/, 'logs not a boolean');
  const unsecured = new UnsecuredJWT({ sub: 'a', aud: 'vigil', vigil: { servers: ['*'] } }).setExpirationTime('1h').encode();
  await refused(t, verifier, unsecured, U, /not allowed|malformed/, 'alg none');
});

t.test('clock skew: 30 s past exp is forgiven, more is not', async (t) => {
  const verifier = await verifierFor();
  const justExpired = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, now: Date.now() - 70_000 });
  t.equal((await verifier.verify(justExpired)).subject, 'a', '10 s past exp is within the skew');
  const expired = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, now: Date.now() - 100_000 });
  await refused(t, verifier, expired, ErrorCodes.TOKEN_EXPIRED, /expired/, '40 s past exp');
});

t.test('issuer: checked when configured', async (t) => {
  const verifier = await verifierFor({ secret: TEST_SECRET, issuer: 'https://id.example', audience: 'dashboards' });
  const good = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, issuer: 'https://id.example', audience: 'dashboards' });
  t.equal((await verifier.verify(good)).subject, 'a');
  const wrong = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, issuer: 'https://evil.example', audience: 'dashboards' });
  await refused(t, verifier, wrong, ErrorCodes.UNAUTHORIZED, /wrong issuer/, 'wrong issuer');
  const none = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, audience: 'dashboards' });
  await refused(t, verifier, none, ErrorCodes.UNAUTHORIZED, /no "iss"/, 'no issuer');
  const defaultAud = await mintToken(hs, { sub: 'a', vigil: WEB, ttlSeconds: 60, issuer: 'https://id.example' });
  await refused(t, verifier, defaultAud, ErrorCodes.UNAUTHORIZED, /wrong audience/, 'the default audience when another is configured');
});

t.test('ES256, EdDSA and RS256 with a PEM public key', async (t) => {
  const dir = t.testdir();
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    const pair = keyPair(alg);
    const verifier = await verifierFor({ publicKeyFile: writeKeyFile(dir, `${alg}.pem`, pair.pem) });
    const token = await mintToken(pair.signing, { sub: `svc-${alg}`, vigil: { servers: ['*'], admin: true }, ttlSeconds: 60 });
    const p = await verifier.verify(token);
    t.equal(p.subject, `svc-${alg}`, `${alg} verifies`);
    t.ok(p.admin && p.canSee('anything'), `${alg}: the claim is read`);
    await refused(t, verifier, await mintToken(keyPair(alg).signing, { sub: 'a', vigil: WEB, ttlSeconds: 60 }), ErrorCodes.UNAUTHORIZED, /bad signature/, `${alg}: another key`);
    // An HS256 token "signed" with the public key as a secret: the classic algorithm confusion.
    const confused = await mintToken(secretKey(pair.pem), { sub: 'a', vigil: WEB, ttlSeconds: 60 });
    await refused(t, verifier, confused, ErrorCodes.UNAUTHORIZED, /algorithm not allowed/, `${alg}: HS256 against a public key`);
  }
});

t.test('JWKS: two keys, selected by kid', async (t) => {
  const dir = t.testdir();
  const k1 = keyPair('ES256', 'k1');
  const k2 = keyPair('ES256', 'k2');
  const file = writeKeyFile(dir, 'jwks.json', JSON.stringify({ keys: [k1.jwk, k2.jwk] }));
  const verifier = await verifierFor({ publicKeyFile: file });
  for (const [pair, sub] of [[k1, 'one'], [k2, 'two']] as const) {
    t.equal((await verifier.verify(await mintToken(pair.signing, { sub, vigil: WEB, ttlSeconds: 60 }))).subject, sub, `the ${pair.signing.kid} token verifies`);
  }
  const lying = await mintToken({ ...k1.signing, kid: 'k2' }, { sub: 'a', vigil: WEB, ttlSeconds: 60 });
  await refused(t, verifier, lying, ErrorCodes.UNAUTHORIZED, /bad signature/, "k1's signature under k2's kid");
  const unknown = await mintToken({ ...k1.signing, kid: 'k3' }, { sub: 'a', vigil: WEB, ttlSeconds: 60 });
  await refused(t, verifier, unknown, ErrorCodes.UNAUTHORIZED, /no key matches/, 'an unknown kid');
  const { kid: _kid, ...noKid } = k1.signing;
  await refused(t, verifier, await mintToken(noKid, { sub: 'a', vigil: WEB, ttlSeconds: 60 }), ErrorCodes.UNAUTHORIZED, /needs a "kid"/, 'no kid among two keys');
  const ed = keyPair('EdDSA', 'ed');
  const mixed = await verifierFor({ publicKeyFile: writeKeyFile(dir, 'mixed.json', JSON.stringify({ keys: [k1.jwk, ed.jwk] })) });
  t.equal((await mixed.verify(await mintToken(ed.signing, { sub: 'ed', vigil: WEB, ttlSeconds: 60 }))).subject, 'ed', 'EdDSA in a JWKS');
});

t.test('a JWKS file is re-read when it changes: keys rotate without a restart', async (t) => {
  const dir = t.testdir();
  const old = keyPair('EdDSA', 'old');
  const next = keyPair('EdDSA', 'next');
  const file = writeKeyFile(dir, 'jwks.json', JSON.stringify({ keys: [old.jwk] }));
  const verifier = createVerifier({ mode: 'jwt', audience: 'vigil', issuer: undefined, keys: await loadPublicKeys(file, 0) });
  const oldToken = await mintToken(old.signing, { sub: 'a', vigil: WEB, ttlSeconds: 60 });
  const nextToken = await mintToken(next.signing, { sub: 'b', vigil: WEB, ttlSeconds: 60 });
  t.equal((await verifier.verify(oldToken)).subject, 'a');
  await refused(t, verifier, nextToken, ErrorCodes.UNAUTHORIZED, /no key matches/, 'the next key before it is published');
  writeFileSync(file, JSON.stringify({ keys: [next.jwk] }));
  utimesSync(file, new Date(), new Date(Date.now() + 5000)); // a distinct mtime on coarse file systems
  t.equal((await verifier.verify(nextToken)).subject, 'b', 'the published key verifies');
  await refused(t, verifier, oldToken, ErrorCodes.UNAUTHORIZED, /no key matches/, 'the retired key no longer does');
  writeFileSync(file, '{ "keys": [ broken');
  utimesSync(file, new Date(), new Date(Date.now() + 10_000));
  t.equal((await verifier.verify(nextToken)).subject, 'b', 'a broken edit keeps the keys that worked');
});

t.test('auth off: everything allowed, no token needed', async (t) => {
  const verifier = createVerifier(await resolveAuth({ mode: 'none' }));
  t.equal(verifier.enabled, false);
  const p = await verifier.verify(undefined);
  t.ok(p.canSee('db-1') && p.logs && p.expiresAt === Infinity);
});
