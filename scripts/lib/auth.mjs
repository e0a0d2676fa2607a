// The auth of a local run: one HS256 secret for the run, random unless VIGIL_AUTH_SECRET is given
// (so tokens minted with it work across runs), handed to the gateways as a 0600 file in the run's
// private temp dir (never printed, never on a command line, never in a log), and an admin token
// for the run, minted by the gateway's own mintToken (the built @vigil/gateway: this runs after
// the build, and the gateways it starts need that build anyway), so the claims, audience and
// signature are those the gateway verifies, not a copy of them.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Longer than a working day at the laptop; the secret dies with the run anyway. */
const ADMIN_TTL_S = 7 * 86_400;

/**
 * The run's key and admin token. `gatewayEnv` replaces every VIGIL_AUTH* the gateways would
 * otherwise inherit (exactly one key source is allowed, and an inherited audience would refuse
 * the admin token).
 */
export async function createRunAuth(tmpDir, env = process.env) {
  const secret = env.VIGIL_AUTH_SECRET || randomBytes(32).toString('base64url');
  const secretFile = join(tmpDir, 'auth-secret');
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const { mintToken, secretKey } = await import('@vigil/gateway');
  const adminToken = await mintToken(secretKey(secret), { sub: 'npm-start', vigil: { servers: ['*'], logs: true, admin: true }, ttlSeconds: ADMIN_TTL_S });
  return { adminToken, gatewayEnv: (base) => ({ ...withoutAuth(base), VIGIL_AUTH_SECRET_FILE: secretFile }) };
}

/** An environment without VIGIL_AUTH*: what the processes that need no key (collectors, demos) get. */
export function withoutAuth(env) {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('VIGIL_AUTH')));
}

/** The REST header of a token. */
export const bearer = (token) => ({ authorization: `Bearer ${token}` });
