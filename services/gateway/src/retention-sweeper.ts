// The retention: a server that is exited, stopped or stale, and has shown no sign of life (a
// heartbeat, or else its registry entry's updatedAt) for longer than `serverRetentionMs`, is
// removed with all its keys. Every gateway runs this sweep; no lease is needed because the
// removal is a compare-and-delete (ServerRemover.removeIfExpired): of N gateways judging the same
// server, one script removes it and announces it, the others find it gone. A lease would save
// the other gateways one HGETALL + ZRANGE per sweep, at the price of a lock to expire and renew;
// the sweep runs every retention / 10 (0.5 s to 60 s), so that cost stays small.
import type { Logger } from 'pino';
import {
  GONE_STATUSES,
  RETENTION_SWEEP_MAX_MS,
  RETENTION_SWEEP_MIN_MS,
  RegistryEntry,
  compile,
  parseJson,
  type ServerStatus,
} from '@vigil/protocol';
import { isStale, type ServerTrace } from '@vigil/store';
import type { ServerRemoval } from './server-removal.js';
import { Periodic } from './periodic.js';

const checkEntry = compile(RegistryEntry);
const gone = new Set<ServerStatus>(GONE_STATUSES);

/** How often the sweep runs for a retention: a tenth of it, within bounds. */
export function sweepEvery(retentionMs: number): number {
  return Math.min(RETENTION_SWEEP_MAX_MS, Math.max(RETENTION_SWEEP_MIN_MS, Math.floor(retentionMs / 10)));
}

/** Whether the retention has run out for this server at `now`; a malformed entry counts by its heartbeat alone. */
export function isExpired(trace: ServerTrace, retentionMs: number, now: number): boolean {
  const entry = trace.entry === null ? null : parseJson(trace.entry);
  const valid = checkEntry.check(entry) ? entry : null;
  const lastSign = trace.heartbeatAt ?? (valid ? Date.parse(valid.updatedAt) : NaN);
  // Neither heartbeat nor a readable date: nothing says when it was last alive; keep it.
  if (!Number.isFinite(lastSign) || now - lastSign <= retentionMs) return false;
  if (!valid) return true;
  return gone.has(valid.status) || isStale(valid.status, trace.heartbeatAt, valid.staleAfterMs, now);
}

export class RetentionSweeper {
  readonly #removal: ServerRemoval;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #loop: Periodic;

  constructor(removal: ServerRemoval, retentionMs: number, logger: Logger, now: () => number = Date.now) {
    this.#removal = removal;
    this.#retentionMs = retentionMs;
    this.#now = now;
    this.#loop = new Periodic(sweepEvery(retentionMs), () => this.#sweep(), (err) => logger.debug({ err: err.message }, 'retention sweep skipped'));
  }

  start(): void {
    this.#loop.start();
  }

  stop(): void {
    this.#loop.stop();
  }

  async #sweep(): Promise<void> {
    const now = this.#now();
    const cutoff = now - this.#retentionMs;
    for (const trace of await this.#removal.remover.traces()) {
      if (!this.#loop.running) return;
      if (isExpired(trace, this.#retentionMs, now)) await this.#removal.expire(trace, cutoff);
    }
  }
}
