// `vigil-gateway token`: what it prints verifies against the same configuration and carries the claims asked for.
import t from 'tap';
import type { KeyObject } from 'node:crypto';
import { ErrorCodes } from '@vigil/protocol';
import { readAuthConfig } from '../src/auth/auth-config.js';
import { createVerifier } from '../src/auth/verifier.js';
import { parseTtl, runTokenCommand, TTL_MAX_S, TTL_MIN_S } from '../src/auth/token-command.js';
import { TEST_SECRET, keyPair, writeKeyFile } from './auth-keys.js';

async function run(argv: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const code = await runTokenCommand(argv, env, { write: (s) => (stdout += s), error: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

t.test('the printed token verifies and carries the claims', async (t) => {
  const env = { VIGIL_AUTH_SECRET: TEST_SECRET };
  const { code, stdout, stderr } = await run(['--sub', 'alice', '--servers', 'web-*', '--servers', 'db-1', '--logs', '--ttl', '15m'], env);
  t.equal(code, 0);
  t.equal(stderr, '');
  t.match(stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWT and a newline on stdout');
  const p = await createVerifier(await readAuthConfig(env)).verify(stdout.trim());
  t.equal(p.subject, 'alice');
  t.ok(p.canSee('web-1') && p.canSee('db-1'));
  t.notOk(p.canSee('db-2'));
  t.equal(p.logs, true);
  t.equal(p.admin, false);
  t.ok(Math.abs(p.expiresAt - (Date.now() + 15 * 60_000)) < 2000, 'expires in 15 minutes');

  const admin = await run(['--sub', 'ops', '--servers', 'web-*,db-*', '--admin'], env);
  const q = await createVerifier(await readAuthConfig(env)).verify(admin.stdout.trim());
  t.ok(q.admin && q.canSee('db-9') && !q.logs, 'commas separate globs; --admin; no logs unless asked');
  t.ok(Math.abs(q.expiresAt - (Date.now() + 3_600_000)) < 2000, 'one hour by default');
  t.notOk(p.canSeeHost('web-host-1'), 'no host without --hosts');

  const hosts = await run(['--sub', 'ops', '--servers', 'web-*', '--hosts', 'web-host-*,db-host-1'], env);
  const h = await createVerifier(await readAuthConfig(env)).verify(hosts.stdout.trim());
  t.ok(h.canSeeHost('web-host-3') && h.canSeeHost('db-host-1') && !h.canSeeHost('db-host-2'), '--hosts: the hosts whose metrics it may see');
});

t.test('audience and issuer come from the same environment', async (t) => {
  const env = { VIGIL_AUTH_SECRET: TEST_SECRET, VIGIL_AUTH_AUDIENCE: 'ops', VIGIL_AUTH_ISSUER: 'https://id.example' };
  const { code, stdout } = await run(['--sub', 'a', '--servers', '*'], env);
  t.equal(code, 0);
  t.equal((await createVerifier(await readAuthConfig(env)).verify(stdout.trim())).subject, 'a');
  await t.rejects(createVerifier(await readAuthConfig({ VIGIL_AUTH_SECRET: TEST_SECRET })).verify(stdout.trim()), { code: ErrorCodes.UNAUTHORIZED }, 'another audience refuses it');
});

t.test('public-key setups sign with the private key', async (t) => {
  const dir = t.testdir();
  const pair = keyPair('EdDSA', 'k2');
  const pub = writeKeyFile(dir, 'pub.pem', pair.pem);
  const priv = writeKeyFile(dir, 'priv.pem', (pair.signing.key as KeyObject).export({ type: 'pkcs8', format: 'pem' }).toString());
  const env = { VIGIL_AUTH_PUBLIC_KEY_FILE: pub };
  const withoutKey = await run(['--sub', 'a', '--servers', '*'], env);
  t.equal(withoutKey.code, 1);
  t.match(withoutKey.stderr, /^vigil-gateway token: VIGIL_AUTH_PUBLIC_KEY_FILE only verifies; .*--private-key.*\(VIGIL_ERR_AUTH_CONFIG_INVALID\)\n$/);
  for (const [how, argv, extraEnv] of [
    ['--private-key', ['--private-key', priv], {}],
    ['VIGIL_AUTH_PRIVATE_KEY_FILE', [], { VIGIL_AUTH_PRIVATE_KEY_FILE: priv }],
  ] as const) {
    const { code, stdout } = await run(['--sub', 'svc', '--servers', 'web-*', ...argv], { ...env, ...extraEnv });
    t.equal(code, 0, how);
    t.equal((await createVerifier(await readAuthConfig(env)).verify(stdout.trim())).subject, 'svc', `${how}: verifies with the public key`);
  }
  // A JWKS setup: the private JWK's kid selects the key.
  const other = keyPair('ES256', 'k1');
  const jwks = writeKeyFile(dir, 'jwks.json', JSON.stringify({ keys: [other.jwk, pair.jwk] }));
  const privJwk = writeKeyFile(dir, 'priv.json', JSON.stringify({ ...(pair.signing.key as KeyObject).export({ format: 'jwk' }), kid: 'k2' }));
  const viaJwk = await run(['--sub', 'jwk', '--servers', '*', '--private-key', privJwk], {});
  t.equal(viaJwk.code, 0);
  t.equal((await createVerifier(await readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: jwks })).verify(viaJwk.stdout.trim())).subject, 'jwk', 'a private JWK keeps its kid');
  const viaKid = await run(['--sub', 'kid', '--servers', '*', '--private-key', priv, '--kid', 'k2'], {});
  t.equal((await createVerifier(await readAuthConfig({ VIGIL_AUTH_PUBLIC_KEY_FILE: jwks })).verify(viaKid.stdout.trim())).subject, 'kid', '--kid names the key');
});

t.test('usage errors: one line with a code, exit 2; config errors exit 1', async (t) => {
  const env = { VIGIL_AUTH_SECRET: TEST_SECRET };
  const usage: Array<[string[], RegExp]> = [
    [['--servers', '*'], /--sub is required/],
    [['--sub', 'a'], /--servers is required/],
    [['--sub', 'a', '--servers', ' , '], /--servers is required/],
    [['--sub', 'a', '--servers', '*', '--ttl', '1y'], /--ttl must look like/],
    [['--sub', 'a', '--servers', '*', '--ttl', '5s'], /--ttl must be between 10s and 30d/],
    [['--sub', 'a', '--servers', '*', '--ttl', '31d'], /--ttl must be between/],
    [['--sub', 'a', '--servers', '*', '--bogus'], /Unknown option '--bogus'/],
    [['--sub', 'a', '--servers', '*', 'extra'], /positional/],
  ];
  for (const [argv, message] of usage) {
    const { code, stdout, stderr } = await run(argv, env);
    t.equal(code, 2, `${argv.join(' ')}: exit 2`);
    t.equal(stdout, '', 'nothing on stdout');
    t.match(stderr, message);
    t.match(stderr, /^vigil-gateway token: [^\n]*\(VIGIL_ERR_CONFIG_INVALID\); see --help\n$/, 'one line with its code');
  }
  const badGlob = await run(['--sub', 'a', '--servers', 'web/1'], env);
  t.equal(badGlob.code, 1);
  t.match(badGlob.stderr, /invalid "vigil" claim: \/servers\/0.*\(VIGIL_ERR_CONFIG_INVALID\)/);
  const noKey = await run(['--sub', 'a', '--servers', '*'], {});
  t.equal(noKey.code, 1);
  t.match(noKey.stderr, /no auth key configured.*\(VIGIL_ERR_AUTH_CONFIG_INVALID\)\n$/);
  const short = await run(['--sub', 'a', '--servers', '*'], { VIGIL_AUTH_SECRET: 'short-secret-hunter2' });
  t.equal(short.code, 1);
  t.notMatch(short.stderr, /hunter2/, 'the secret is never printed');
  const off = await run(['--sub', 'a', '--servers', '*'], { VIGIL_AUTH: 'none' });
  t.match(off.stderr, /auth is off/);
});

t.test('--help', async (t) => {
  const { code, stdout } = await run(['--help'], {});
  t.equal(code, 0);
  t.match(stdout, /Usage: vigil-gateway token --sub/);
  t.match(stdout, /VIGIL_AUTH_SECRET/);
});

t.test('ttl bounds', async (t) => {
  t.equal(parseTtl('30s'), 30);
  t.equal(parseTtl('15m'), 900);
  t.equal(parseTtl('1h'), 3600);
  t.equal(parseTtl('7d'), 7 * 86_400);
  t.equal(parseTtl(`${TTL_MIN_S}s`), TTL_MIN_S, 'the minimum is allowed');
  t.equal(parseTtl('30d'), TTL_MAX_S, 'the maximum is allowed');
  for (const bad of ['9s', '31d', '0s', '-1h', '1.5h', '1', 'h', '']) t.type(parseTtl(bad), 'string', `"${bad}" refused`);
});
