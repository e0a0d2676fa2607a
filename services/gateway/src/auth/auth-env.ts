// The names of the variables that configure auth, and the one error a bad configuration gets:
// shared by the settings reader and the key loader, so neither imports the other.
import { ErrorCodes, VigilError } from '@vigil/protocol';

/** Every variable that configures auth, named in errors so an operator knows what to set. */
export const AUTH_ENV = {
  mode: 'VIGIL_AUTH',
  secret: 'VIGIL_AUTH_SECRET',
  secretFile: 'VIGIL_AUTH_SECRET_FILE',
  publicKeyFile: 'VIGIL_AUTH_PUBLIC_KEY_FILE',
  privateKeyFile: 'VIGIL_AUTH_PRIVATE_KEY_FILE',
  audience: 'VIGIL_AUTH_AUDIENCE',
  issuer: 'VIGIL_AUTH_ISSUER',
} as const;

export function invalid(message: string, cause?: unknown): VigilError {
  return new VigilError(ErrorCodes.AUTH_CONFIG_INVALID, message, cause === undefined ? undefined : { cause });
}
