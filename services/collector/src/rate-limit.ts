// A server's log-line budget: the shared token bucket, configured in lines (`logRateLimit`).
import { TokenBucket } from '@vigil/protocol/runtime';

export type RateLimit = { linesPerSecond: number; burst: number };

export const DEFAULT_LOG_RATE_LIMIT: RateLimit = { linesPerSecond: 1000, burst: 5000 };

/** A full bucket of `limit.burst` lines, refilled at `limit.linesPerSecond`. */
export function lineBucket(limit: RateLimit, now: number): TokenBucket {
  return new TokenBucket({ perSecond: limit.linesPerSecond, burst: limit.burst }, now);
}
