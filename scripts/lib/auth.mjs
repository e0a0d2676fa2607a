// The auth of a local run: one HS256 secret for the run, random unless VIGIL_AUTH_SECRET is given
// (so tokens minted with it work across runs), handed to the gateways as a 0600 file in the run's
// private temp dir (never printed, never on a command line, never in a log), and an admin token
// for the run, minted here in plain node:crypto (this runs before and without the test libs).
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the gateway verifies (services/gateway/src/auth/auth-config.ts: DEFAULT_AUDIENCE). */
const AUDIENCE = 'vigil';
/** Longer than a working day at the laptop; the secret dies with the run anyway. */
const ADMIN_TTL_S = 7 * 86_400;

const base64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An HS256 JWT the gateway accepts: `sub`, `aud`, `iat`, `exp` and the `vigil` claim. */
export function mintHs256(secret, { sub, vigil, ttlSeconds, now = Date.now() }) {
  const iat = Math.floor(now / 1000);
  const signed = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ vigil, sub, aud: AUDIENCE, iat, exp: iat + ttlSeconds })}`;
  return `${signed}.${createHmac('sha256', Buffer.from(secret, 'utf8')).update(signed).digest('base64url')}`;
}

/**
 * The run's key and admin token. `gatewayEnv` replaces every VIGIL_AUTH* the gateways would
 * otherwise inherit (exactly one key source is allowed, and an inherited audience would refuse
 * the admin token).
 */
export function createRunAuth(tmpDir, env = process.env) {
  const secret = env.VIGIL_AUTH_SECRET || randomBytes(32).toString('base64url');
  const secretFile = join(tmpDir, 'auth-secret');
  writeFileSync(secretFile, secret, { mode: 0o600 });
  const adminToken = mintHs256(secret, { sub: 'npm-start', vigil: { servers: ['*'], logs: true, admin: true }, ttlSeconds: ADMIN_TTL_S });
  return { adminToken, gatewayEnv: (base) => ({ ...withoutAuth(base), VIGIL_AUTH_SECRET_FILE: secretFile }) };
}

/** An environment without VIGIL_AUTH*: what the processes that need no key (collectors, demos) get. */
export function withoutAuth(env) {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('VIGIL_AUTH')));
}

/** The REST header of a token. */
export const bearer = (token) => ({ authorization: `Bearer ${token}` });
