// TLS material for Redis connections: which PEM files to use, read and checked once at start so
// a wrong path or a mismatched key fails there with a code, never at the first reconnect.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ErrorCodes, VigilError } from '@vigil/protocol';

/** Environment variables, read by every service the same way (see redisTlsFromEnv). */
export const REDIS_TLS_ENV = {
  caFile: 'VIGIL_REDIS_TLS_CA_FILE',
  certFile: 'VIGIL_REDIS_TLS_CERT_FILE',
  keyFile: 'VIGIL_REDIS_TLS_KEY_FILE',
} as const;

export type RedisTlsFiles = {
  /** CA bundle that signed the server's certificate; without it, Node's built-in CAs. */
  caFile?: string | undefined;
  /** Client certificate and its key, for a Redis that requires them (`tls-auth-clients yes`). */
  certFile?: string | undefined;
  keyFile?: string | undefined;
};

/** PEM contents, ready for the connection's `tls` options. */
export type RedisTls = { ca?: Buffer; cert?: Buffer; key?: Buffer };

type Names = Record<keyof RedisTlsFiles, string>;

function invalid(message: string, cause?: unknown): VigilError {
  return new VigilError(ErrorCodes.REDIS_TLS_INVALID, message, cause === undefined ? undefined : { cause });
}

function readPem(path: string, name: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw invalid(`${name}: cannot read "${path}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  // Only the shape is checked here; contents are never echoed (a key file is a secret).
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw invalid(`${name}: "${path}" is not a PEM file`);
  return pem;
}

/**
 * Reads and checks the files; undefined when none is given. `names` are what the messages call
 * each file (the environment variable or config field the value came from).
 */
export function readRedisTls(files: RedisTlsFiles, names: Names = REDIS_TLS_ENV): RedisTls | undefined {
  const given = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
  const { caFile, certFile, keyFile } = files;
  if (!given(caFile) && !given(certFile) && !given(keyFile)) return undefined;
  if (given(certFile) !== given(keyFile)) {
    throw invalid(`${names.certFile} and ${names.keyFile} go together: give both (a client certificate and its key) or neither`);
  }
  const tls: RedisTls = {};
  if (given(caFile)) tls.ca = readPem(caFile, names.caFile);
  if (given(certFile) && given(keyFile)) {
    tls.cert = readPem(certFile, names.certFile);
    tls.key = readPem(keyFile, names.keyFile);
  }
  try {
    createSecureContext(tls);
  } catch (err) {
    // OpenSSL's reason (e.g. "key values mismatch", "no start line"); it names no secret.
    throw invalid(`Redis TLS files are not usable together (${[caFile, certFile, keyFile].filter(given).join(', ')}): ${(err as Error).message}`, err);
  }
  return tls;
}

/** The TLS material named by VIGIL_REDIS_TLS_CA_FILE / _CERT_FILE / _KEY_FILE in `env`, checked. */
export function redisTlsFromEnv(env: Record<string, string | undefined>): RedisTls | undefined {
  return readRedisTls({ caFile: env[REDIS_TLS_ENV.caFile], certFile: env[REDIS_TLS_ENV.certFile], keyFile: env[REDIS_TLS_ENV.keyFile] });
}
