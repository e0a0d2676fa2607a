// The key material tokens are verified with: an HS256 secret, a PEM public key, or a JWKS whose
// keys are picked by `kid`. A public key file is re-read when it changes, so keys rotate without a
// restart: publish the new key next to the old one, switch the signer, then drop the old one.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { parseJson } from '@vigil/protocol';
import { AUTH_ENV, invalid } from './auth-env.js';

/** What a token's signature is checked against: a secret, one public key, or a key set by `kid`. */
export type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey;

export type VerifyKeys = {
  /** Only these `alg` values are accepted (never `none`, never HS256 on a public-key setup). */
  readonly algorithms: string[];
  current(): Promise<VerifyKey>;
  /** For logs: which kind of key, never the key. */
  readonly describe: string;
};

/** An HS256 secret shorter than this is refused: brute-forcing it offline would be too cheap. */
export const MIN_SECRET_BYTES = 32;
/** Public-key algorithms: each key type maps to one. */
export const PUBLIC_KEY_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
/** How often, at most, a public key file is checked for a change (one stat). */
const RELOAD_CHECK_MS = 5000;

export async function readSecret(from: { value: string } | { file: string }): Promise<Uint8Array> {
  let text: string;
  let name: string;
  if ('value' in from) {
    text = from.value;
    name = AUTH_ENV.secret;
  } else {
    name = AUTH_ENV.secretFile;
    // Editors and `echo` end files with a newline nobody means as part of the secret.
    text = (await readKeyFile(from.file, name)).replace(/\r?\n$/, '');
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw invalid(`${name} is too short: ${bytes.length} bytes, at least ${MIN_SECRET_BYTES} needed (try: openssl rand -base64 48)`);
  }
  return bytes;
}

/** A PEM public key or a JWKS file, re-read (at most every few seconds) when its mtime changes. */
export async function loadPublicKeys(file: string, reloadCheckMs = RELOAD_CHECK_MS): Promise<VerifyKeys> {
  let loaded = await parsePublicKeys(await readKeyFile(file, AUTH_ENV.publicKeyFile));
  let mtimeMs = (await stat(file)).mtimeMs;
  let checkedAt = Date.now();
  let checking: Promise<void> | undefined;
  const check = async () => {
    const now = (await stat(file)).mtimeMs;
    if (now === mtimeMs) return;
    // A half-written or broken file keeps the keys that worked: failing closed here would lock
    // every client out because of one bad edit; the next change is tried again.
    loaded = await parsePublicKeys(await readKeyFile(file, AUTH_ENV.publicKeyFile));
    mtimeMs = now;
  };
  return {
    algorithms: PUBLIC_KEY_ALGORITHMS,
    get describe() {
      return loaded.describe;
    },
    async current() {
      if (Date.now() - checkedAt >= reloadCheckMs) {
        checkedAt = Date.now();
        checking ??= check()
          .catch(() => undefined)
          .finally(() => (checking = undefined));
        await checking;
      }
      return loaded.key;
    },
  };
}

type Parsed = { key: KeyObject | JWTVerifyGetKey; describe: string };

function parsePublicKeys(text: string): Parsed {
  const name = AUTH_ENV.publicKeyFile;
  if (text.trimStart().startsWith('{')) return parseJwks(parseJson(text));
  // A signing key does not belong on every gateway: refuse it rather than derive from it.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw invalid(`${name} holds a private key; give the gateway only the public key`);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw invalid(`${name} is not a PEM public key or a JWKS file`);
  }
  return { key, describe: `${algorithmOf(key, name)} public key` };
}

function parseJwks(json: unknown): Parsed {
  const name = AUTH_ENV.publicKeyFile;
  // One bare JWK is a set of one.
  const set = json !== null && typeof json === 'object' && 'kty' in json ? { keys: [json] } : json;
  const keys = (set as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw invalid(`${name} is not a PEM public key or a JWKS file (no "keys")`);
  for (const [i, jwk] of keys.entries()) {
    const k = jwk as Record<string, unknown> | null;
    if (k === null || typeof k !== 'object' || !['RSA', 'EC', 'OKP'].includes(String(k.kty))) {
      throw invalid(`${name}: key ${i} is not an RSA, EC or OKP public key`);
    }
    if ('d' in k) throw invalid(`${name}: key ${i} is a private key; publish only public keys`);
  }
  try {
    return { key: createLocalJWKSet(set as JSONWebKeySet), describe: `JWKS of ${keys.length} key(s)` };
  } catch {
    throw invalid(`${name} is not a valid JWKS`);
  }
}

/** The one algorithm a key type signs with here. */
export function algorithmOf(key: KeyObject, name: string): 'RS256' | 'ES256' | 'EdDSA' {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw invalid(`${name}: unsupported key type ${type}${type === 'ec' ? ` (${key.asymmetricKeyDetails?.namedCurve})` : ''}; use RSA, EC P-256 or Ed25519`);
}

export async function readKeyFile(file: string, name: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw invalid(`${name} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${file.slice(0, 300)})`);
  }
}
