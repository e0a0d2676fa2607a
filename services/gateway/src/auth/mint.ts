// Minting tokens the gateway accepts, from the same key configuration it verifies with: the HS256
// secret itself, or, for public-key setups, the private key that pairs with the published one.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { ErrorCodes, VigilClaim, VigilError, compile, parseJson } from '@vigil/protocol';
import { AUTH_ENV, DEFAULT_AUDIENCE, authSettingsFromEnv, invalid } from './auth-config.js';
import { algorithmOf, readKeyFile, readSecret } from './verify-keys.js';

export type SigningKey = { alg: 'HS256' | 'RS256' | 'ES256' | 'EdDSA'; key: Uint8Array | KeyObject; kid?: string };

export type TokenClaims = {
  sub: string;
  vigil: VigilClaim;
  /** Lifetime in seconds from `now`. */
  ttlSeconds: number;
  audience?: string;
  issuer?: string;
  /** Epoch ms the token is issued at (default: now); tests use it to mint already-expired tokens. */
  now?: number;
};

const checkClaim = compile(VigilClaim);

/** An HS256 signing key from a secret given directly (tests, `npm start`'s generated key). */
export function secretKey(secret: string): SigningKey {
  return { alg: 'HS256', key: new TextEncoder().encode(secret) };
}

export async function mintToken(signing: SigningKey, claims: TokenClaims): Promise<string> {
  const problem = checkClaim.explain(claims.vigil);
  if (problem !== null) throw new VigilError(ErrorCodes.CONFIG_INVALID, `invalid "vigil" claim: ${problem}`);
  const iat = Math.floor((claims.now ?? Date.now()) / 1000);
  const jwt = new SignJWT({ vigil: claims.vigil })
    .setProtectedHeader({ alg: signing.alg, typ: 'JWT', ...(signing.kid !== undefined ? { kid: signing.kid } : {}) })
    .setSubject(claims.sub)
    .setAudience(claims.audience ?? DEFAULT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.round(claims.ttlSeconds));
  if (claims.issuer !== undefined) jwt.setIssuer(claims.issuer);
  return jwt.sign(signing.key);
}

/**
 * The signing key of an environment: a private key file when one is given (flag or
 * `VIGIL_AUTH_PRIVATE_KEY_FILE`), else the HS256 secret. Also the audience and issuer to mint for.
 */
export async function signingFromEnv(
  env: NodeJS.ProcessEnv,
  flags: { privateKeyFile?: string; kid?: string } = {},
): Promise<{ signing: SigningKey; audience: string; issuer: string | undefined }> {
  const privateKeyFile = flags.privateKeyFile ?? (env[AUTH_ENV.privateKeyFile] || undefined);
  if (privateKeyFile !== undefined) {
    // Only the audience and issuer matter here: the verify key may live elsewhere.
    const audience = env[AUTH_ENV.audience] || DEFAULT_AUDIENCE;
    const issuer = env[AUTH_ENV.issuer] || undefined;
    return { signing: { ...(await readPrivateKey(privateKeyFile)), ...(flags.kid !== undefined ? { kid: flags.kid } : {}) }, audience, issuer };
  }
  const settings = authSettingsFromEnv(env);
  if (settings.mode === 'none') throw invalid(`${AUTH_ENV.mode}=none: auth is off, there is no key to sign with`);
  if (settings.publicKeyFile !== undefined) {
    throw invalid(`${AUTH_ENV.publicKeyFile} only verifies; give the signing key with --private-key or ${AUTH_ENV.privateKeyFile}`);
  }
  const key = await readSecret(settings.secret !== undefined ? { value: settings.secret } : { file: settings.secretFile! });
  return {
    signing: { alg: 'HS256', key, ...(flags.kid !== undefined ? { kid: flags.kid } : {}) },
    audience: settings.audience ?? DEFAULT_AUDIENCE,
    issuer: settings.issuer,
  };
}

/** A PEM private key (PKCS#8, or a traditional RSA/EC one) or a private JWK; a JWK's `kid` is kept. */
async function readPrivateKey(file: string): Promise<SigningKey> {
  const name = AUTH_ENV.privateKeyFile;
  const text = await readKeyFile(file, name);
  const jwk = text.trimStart().startsWith('{') ? (parseJson(text) as Record<string, unknown> | undefined) : undefined;
  let key: KeyObject;
  try {
    key = jwk ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPrivateKey(text);
  } catch {
    throw invalid(`${name} is not a PEM private key or a private JWK`);
  }
  const kid = typeof jwk?.kid === 'string' ? jwk.kid : undefined;
  return { alg: algorithmOf(key, name), key, ...(kid !== undefined ? { kid } : {}) };
}
