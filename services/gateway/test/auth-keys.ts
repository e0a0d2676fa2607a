// Test key material for the auth tests: real key pairs, written where the gateway reads them.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigningKey } from '../src/auth/mint.js';

export const TEST_SECRET = 'vigil-test-secret-0123456789-abcdefghij';

export type TestKeyPair = { signing: SigningKey; publicKey: KeyObject; pem: string; jwk: Record<string, unknown> };

/** A fresh key pair of the kind `alg` signs with; `kid` goes into the JWK and the signer's header. */
export function keyPair(alg: 'ES256' | 'EdDSA' | 'RS256', kid?: string): TestKeyPair {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), ...(kid ? { kid } : {}) } as Record<string, unknown>;
  return {
    signing: { alg, key: privateKey, ...(kid ? { kid } : {}) },
    publicKey,
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk,
  };
}

/** Writes `text` to `name` in `dir` and returns its path. */
export function writeKeyFile(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
