// How the gateway knows who is calling: the auth settings (from buildApp's options or from the
// environment) and their resolution into keys ready to verify with. Safe by default: no key and no
// explicit `VIGIL_AUTH=none` is a configuration error, never an open gateway.
import { Type, type Static } from '@sinclair/typebox';
import { compile } from '@vigil/protocol';
import { loadPublicKeys, readSecret, type VerifyKeys } from './verify-keys.js';
import { AUTH_ENV, invalid } from './auth-env.js';

export { AUTH_ENV, invalid } from './auth-env.js';

/** The audience a token must name when none is configured. */
export const DEFAULT_AUDIENCE = 'vigil';

const Audience = Type.String({ minLength: 1, maxLength: 256 });
const FilePath = Type.String({ minLength: 1, maxLength: 4096 });

export const AuthSettings = Type.Union([
  /** Auth off: every client may see everything. Logged as a warning at every start. */
  Type.Object({ mode: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object(
    {
      mode: Type.Literal('jwt'),
      /** HS256 shared secret, at least 32 bytes (`VIGIL_AUTH_SECRET`). */
      secret: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
      /** A file holding the HS256 secret (`VIGIL_AUTH_SECRET_FILE`); a trailing newline is ignored. */
      secretFile: Type.Optional(FilePath),
      /** A PEM public key or a JWKS file (`VIGIL_AUTH_PUBLIC_KEY_FILE`), for RS256, ES256 or EdDSA. */
      publicKeyFile: Type.Optional(FilePath),
      /** The `aud` every token must carry (`VIGIL_AUTH_AUDIENCE`, default `vigil`). */
      audience: Type.Optional(Audience),
      /** The `iss` every token must carry, when set (`VIGIL_AUTH_ISSUER`). */
      issuer: Type.Optional(Audience),
    },
    { additionalProperties: false },
  ),
]);
export type AuthSettings = Static<typeof AuthSettings>;

/** Auth settings resolved: keys read and imported, defaults applied. */
export type AuthConfig =
  | { mode: 'none'; /** Log this at every start: the gateway is open to anyone who reaches it. */ warning: string }
  | { mode: 'jwt'; audience: string; issuer: string | undefined; keys: VerifyKeys };


const NO_KEY = `no auth key configured: set ${AUTH_ENV.secret} (32+ bytes), ${AUTH_ENV.secretFile} or ${AUTH_ENV.publicKeyFile}, or ${AUTH_ENV.mode}=none to run without auth`;

export const AUTH_OFF_WARNING = `${AUTH_ENV.mode}=none: authentication is off, anyone who reaches this gateway sees every server's metrics and logs`;

const checkSettings = compile(AuthSettings);

/** Auth settings from environment variables (empty counts as unset). Reads no file. */
export function authSettingsFromEnv(env: NodeJS.ProcessEnv): AuthSettings {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const mode = get(AUTH_ENV.mode);
  const keyVars = [AUTH_ENV.secret, AUTH_ENV.secretFile, AUTH_ENV.publicKeyFile].filter((name) => get(name) !== undefined);
  if (mode === 'none') {
    if (keyVars.length > 0) throw invalid(`${AUTH_ENV.mode}=none conflicts with ${keyVars.join(', ')}: choose one`);
    return { mode: 'none' };
  }
  if (mode !== undefined && mode !== 'jwt') throw invalid(`${AUTH_ENV.mode} must be "jwt" or "none", got "${mode.slice(0, 40)}"`);
  const settings: AuthSettings = { mode: 'jwt' };
  const secret = get(AUTH_ENV.secret);
  const secretFile = get(AUTH_ENV.secretFile);
  const publicKeyFile = get(AUTH_ENV.publicKeyFile);
  const audience = get(AUTH_ENV.audience);
  const issuer = get(AUTH_ENV.issuer);
  if (secret !== undefined) settings.secret = secret;
  if (secretFile !== undefined) settings.secretFile = secretFile;
  if (publicKeyFile !== undefined) settings.publicKeyFile = publicKeyFile;
  if (audience !== undefined) settings.audience = audience;
  if (issuer !== undefined) settings.issuer = issuer;
  checkKeyChoice(settings);
  return settings;
}

/** Reads and imports the keys the settings name; every problem is AUTH_CONFIG_INVALID, naming the variable. */
export async function resolveAuth(settings: AuthSettings): Promise<AuthConfig> {
  // The validator's messages name a path and a rule, never the value: a secret stays out of them.
  const problem = checkSettings.explain(settings);
  if (problem) throw invalid(`invalid auth option ${problem}`);
  if (settings.mode === 'none') return { mode: 'none', warning: AUTH_OFF_WARNING };
  checkKeyChoice(settings);
  const audience = settings.audience ?? DEFAULT_AUDIENCE;
  const issuer = settings.issuer;
  if (settings.publicKeyFile !== undefined) {
    return { mode: 'jwt', audience, issuer, keys: await loadPublicKeys(settings.publicKeyFile) };
  }
  const secret = await readSecret(settings.secret !== undefined ? { value: settings.secret } : { file: settings.secretFile! });
  return { mode: 'jwt', audience, issuer, keys: { algorithms: ['HS256'], current: async () => secret, describe: 'HS256 secret' } };
}

/** The whole path from an environment to keys: what a CLI calls once at start. */
export function readAuthConfig(env: NodeJS.ProcessEnv): Promise<AuthConfig> {
  return resolveAuth(authSettingsFromEnv(env));
}

function checkKeyChoice(settings: Extract<AuthSettings, { mode: 'jwt' }>): void {
  const given: string[] = [];
  if (settings.secret !== undefined) given.push(AUTH_ENV.secret);
  if (settings.secretFile !== undefined) given.push(AUTH_ENV.secretFile);
  if (settings.publicKeyFile !== undefined) given.push(AUTH_ENV.publicKeyFile);
  if (given.length === 0) throw invalid(NO_KEY);
  if (given.length > 1) throw invalid(`${given.join(' and ')} are both set: configure exactly one key`);
}
