// A throwaway TLS certificate for tests of Redis over TLS: one self-signed EC certificate for
// 127.0.0.1, both the server's and the CA a client is told to trust.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Writes `redis.crt` and `redis.key` into `dir` (openssl on PATH), valid for a day. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'redis.crt');
  const key = join(dir, 'redis.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key };
}
