// How fast viewers want each target: once a second, one Redis call reads what gateways recorded
// for this collector (InterestStore), and each target's sampling interval follows: the fastest
// interval asked for any of its servers, never faster than the target's minimum, never slower than
// its configured interval. A target nobody asks about, or any target while Redis cannot answer,
// goes back to its configured interval.
import type { Logger } from 'pino';
import { ErrorCodes, INTEREST_REFRESH_MS, effectiveInterval } from '@vigil/protocol';
import { withTimeout } from '@vigil/protocol/runtime';
import type { InterestStore } from '@vigil/store';
import type { Target } from './config-schema.js';

/** Longest a read may take before it counts as failed (and the next one starts afresh). */
const READ_TIMEOUT_MS = INTEREST_REFRESH_MS;

export type InterestReaderOptions = {
  store: Pick<InterestStore, 'read'>;
  collectorId: string;
  targets: readonly Target[];
  /** False while the Redis connection is down: no read is tried, every target is at its configured interval. */
  isConnected: () => boolean;
  /** Told each target's interval after every read (all targets, changed or not). */
  apply: (intervals: ReadonlyMap<Target, number>) => void;
  logger: Logger;
  everyMs?: number;
};

export class InterestReader {
  readonly #o: InterestReaderOptions;
  readonly #byId = new Map<string, Target>();
  readonly #most: number;
  #timer: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #failing = false;

  constructor(options: InterestReaderOptions) {
    this.#o = options;
    for (const t of options.targets) this.#byId.set(t.id, t);
    // Every server a target can report as (a match target's slots count): more is not ours.
    this.#most = options.targets.reduce((n, t) => n + (t.kind === 'match' ? t.maxInstances : 1), 0);
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.readNow(), this.#o.everyMs ?? INTEREST_REFRESH_MS);
    void this.readNow();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#reading;
  }

  /** One read and apply; a read still under way is not doubled. */
  readNow(): Promise<void> {
    this.#reading ??= this.#read().finally(() => (this.#reading = null));
    return this.#reading;
  }

  async #read(): Promise<void> {
    let wanted = new Map<string, number>();
    if (this.#o.isConnected()) {
      try {
        wanted = await withTimeout(this.#o.store.read(this.#o.collectorId, this.#most), READ_TIMEOUT_MS, 'interest read');
        if (this.#failing) this.#o.logger.info('viewer intervals are read again');
        this.#failing = false;
      } catch (err) {
        if (!this.#failing) {
          this.#o.logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'viewer intervals not read: sampling at configured intervals');
        }
        this.#failing = true;
      }
    }
    this.#o.apply(this.intervals(wanted));
  }

  /** Each target's interval given the fastest interval wanted per server id. */
  intervals(wanted: ReadonlyMap<string, number>): Map<Target, number> {
    const fastest = new Map<Target, number>();
    for (const [serverId, ms] of wanted) {
      const target = this.#targetOf(serverId);
      if (!target) continue;
      const had = fastest.get(target);
      if (had === undefined || ms < had) fastest.set(target, ms);
    }
    const out = new Map<Target, number>();
    for (const t of this.#o.targets) out.set(t, effectiveInterval(fastest.get(t), t));
    return out;
  }

  /** The target a server id belongs to: the target itself, or a slot `<id>.<k>` of a match target. */
  #targetOf(serverId: string): Target | undefined {
    const own = this.#byId.get(serverId);
    if (own) return own;
    const dot = serverId.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const target = this.#byId.get(serverId.slice(0, dot));
    const slotText = serverId.slice(dot + 1);
    const slot = Number(slotText);
    if (target?.kind !== 'match' || String(slot) !== slotText || slot < 2 || slot > target.maxInstances) return undefined;
    return target;
  }
}
