// The benchmarks' gateways verify real tokens, as the product does: one random HS256 secret per
// run, made by the first process that loads this module (the parent) and inherited by every child
// through its environment (spawnTs passes it on). Each client process mints one token; the check
// costs once per handshake, not per delivery, so what is measured is the product as deployed.
import { randomBytes } from 'node:crypto';
import { mintToken, secretKey, type GatewayOptions } from '@vigil/gateway';

export const BENCH_AUTH_ENV = 'VIGIL_BENCH_AUTH_SECRET';

export const BENCH_SECRET: string = (process.env[BENCH_AUTH_ENV] ||= randomBytes(32).toString('base64'));

/** buildApp's auth option for a benchmark gateway. */
export const BENCH_AUTH = { mode: 'jwt', secret: BENCH_SECRET } as const satisfies GatewayOptions['auth'];

/** A token for every server (metrics and logs), valid for a day: longer than any run. */
export function benchToken(): Promise<string> {
  return mintToken(secretKey(BENCH_SECRET), { sub: 'bench', vigil: { servers: ['*'], logs: true }, ttlSeconds: 24 * 3600 });
}
