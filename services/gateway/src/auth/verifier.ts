// Token → Permissions: the one place a token is verified (handshake, refresh, REST alike).
// Every refusal is a VigilError, UNAUTHORIZED or TOKEN_EXPIRED, whose message says what was wrong
// with the token and never repeats it.
import { errors, jwtVerify, type JWTPayload } from 'jose';
import {
  ALLOW_ALL,
  ErrorCodes,
  TOKEN_MAX_LENGTH,
  VigilClaim,
  VigilError,
  compile,
  permissionsOf,
  type Permissions,
} from '@vigil/protocol';
import type { AuthConfig } from './auth-config.js';

/** Clocks of token issuers and gateways disagree a little; this much is forgiven on exp/nbf/iat. */
export const CLOCK_SKEW_S = 30;
/** Longest `sub` kept: it names a person or a service, and it goes into logs. */
const SUBJECT_MAX_LENGTH = 256;

export type Verifier = {
  /** False with `VIGIL_AUTH=none`: then every token (or none) gives ALLOW_ALL. */
  readonly enabled: boolean;
  verify(token: unknown): Promise<Permissions>;
};

const checkClaim = compile(VigilClaim);

export function createVerifier(config: AuthConfig): Verifier {
  if (config.mode === 'none') return { enabled: false, verify: async () => ALLOW_ALL };
  const { keys, audience, issuer } = config;
  const options = {
    audience,
    ...(issuer !== undefined ? { issuer } : {}),
    algorithms: keys.algorithms,
    clockTolerance: CLOCK_SKEW_S,
    requiredClaims: ['exp', 'sub'],
  };
  return {
    enabled: true,
    async verify(token: unknown): Promise<Permissions> {
      if (typeof token !== 'string' || token === '') throw unauthorized('no token');
      if (token.length > TOKEN_MAX_LENGTH) throw unauthorized(`token longer than ${TOKEN_MAX_LENGTH} characters`);
      let payload: JWTPayload;
      try {
        const key = await keys.current();
        // jose's overloads split on the key's kind (a key or a key-set function); both verify alike.
        payload = (typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
      } catch (err) {
        throw refusal(err);
      }
      return permissionsFrom(payload);
    },
  };
}

function permissionsFrom(payload: JWTPayload): Permissions {
  const { sub, exp } = payload;
  if (typeof sub !== 'string' || sub === '' || sub.length > SUBJECT_MAX_LENGTH) throw unauthorized(`"sub" must be a string of 1..${SUBJECT_MAX_LENGTH} characters`);
  if (typeof exp !== 'number') throw unauthorized('"exp" must be a number');
  const claim: unknown = payload.vigil;
  if (claim === undefined) throw unauthorized('no "vigil" claim: the token grants nothing');
  const problem = checkClaim.explain(claim);
  if (problem !== null) throw unauthorized(`invalid "vigil" claim: ${problem}`);
  return permissionsOf(sub, claim as VigilClaim, exp * 1000);
}

/** A verification failure as the client may see it: which check failed, never the token. */
function refusal(err: unknown): VigilError {
  if (err instanceof VigilError) return err;
  if (err instanceof errors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
    return new VigilError(ErrorCodes.TOKEN_EXPIRED, `token expired${exp}`);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return unauthorized(`token has no "${err.claim}" claim`);
    if (err.claim === 'aud') return unauthorized('wrong audience ("aud")');
    if (err.claim === 'iss') return unauthorized('wrong issuer ("iss")');
    if (err.claim === 'nbf') return unauthorized('token not valid yet ("nbf")');
    return unauthorized(`invalid "${err.claim}" claim`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized('bad signature');
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthorized('signing algorithm not allowed');
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized('no key matches the token ("kid")');
  if (err instanceof errors.JWKSMultipleMatchingKeys) return unauthorized('several keys match; the token needs a "kid"');
  if (err instanceof errors.JOSENotSupported) return unauthorized('unsupported token algorithm or key');
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return unauthorized('malformed token');
  return unauthorized('token could not be verified');
}

function unauthorized(message: string): VigilError {
  return new VigilError(ErrorCodes.UNAUTHORIZED, message);
}
