// How often a viewer's samples come: the one rule the gateway's ack, the collector's schedule and
// the documentation share.
import { DEFAULT_INTERVAL_MS } from './limits.js';

/** What a collector publishes about a target's sampling (its registry entry). */
export type TargetIntervals = { intervalMs: number; minIntervalMs?: number | undefined };

/**
 * The interval a target is sampled at for a viewer who asked `asked` (undefined: nothing asked):
 * the configured interval, or faster if asked, never faster than the target's minimum. Another
 * viewer asking faster makes samples come more often than this; never less often. Unknown target
 * (no registry entry): the default interval. A collector that publishes no minimum does not take
 * requests: its configured interval.
 */
export function effectiveInterval(asked: number | undefined, target: TargetIntervals | null): number {
  if (!target) return DEFAULT_INTERVAL_MS;
  if (asked === undefined || target.minIntervalMs === undefined) return target.intervalMs;
  return Math.max(target.minIntervalMs, Math.min(asked, target.intervalMs));
}
