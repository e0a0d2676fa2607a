// `stale` alerts: a collector that stopped heartbeating cannot say so itself, so every gateway
// looks for servers whose heartbeat is older than their staleAfterMs and raises `stale` for each,
// and resolves it when the heartbeat is back. Each gateway sweeps on its own; the AlertWriter's
// check-and-set (the firing record, and the heartbeat re-checked inside the same Lua call) makes
// each change happen once across all of them.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Keys, STALE_RULE_ID, alertId, type AlertBody } from '@vigil/protocol';
import { isStale, type AlertChange, type AlertStore, type AlertWriter, type ServerStore } from '@vigil/store';

/** The shortest staleAfterMs a collector writes: a heartbeat younger than this is never stale. */
const MIN_STALE_AFTER_MS = 1000;
/** Most stale candidates looked at per sweep (the oldest heartbeats first). */
const SWEEP_MAX = 1000;

export type StaleAlertsOptions = { redis: Redis; store: ServerStore; alerts: AlertStore; writer: AlertWriter; logger: Logger };

/** Run by the StaleSweeper's timer, one pass per beat. */
export class StaleAlerts {
  readonly #o: StaleAlertsOptions;

  constructor(options: StaleAlertsOptions) {
    this.#o = options;
  }

  /** One pass: raise what went stale, resolve what came back. */
  async sweep(now = Date.now()): Promise<void> {
    const { redis, store, alerts, writer } = this.#o;
    const [old, firing] = await Promise.all([
      redis.zrangebyscore(Keys.heartbeats, '-inf', `(${now - MIN_STALE_AFTER_MS}`, 'LIMIT', 0, SWEEP_MAX),
      // Every beat on every gateway: only the stale alerts are read and parsed.
      alerts.firing((a) => a.rule === STALE_RULE_ID, alertId('*', STALE_RULE_ID)),
    ]);
    const firingBy = new Map(firing.map((a) => [a.serverId, a]));
    const ids = [...new Set([...old, ...firingBy.keys()])];
    if (ids.length === 0) return;
    const beats = await store.heartbeats(ids);
    const changes: AlertChange[] = [];
    const iso = new Date(now).toISOString();
    for (const [serverId, beat] of beats) {
      const raised = firingBy.get(serverId);
      if (beat.status === null || beat.staleAfterMs === null) continue;
      const stale = isStale(beat.status, beat.at, beat.staleAfterMs, now);
      const cutoffMs = now - beat.staleAfterMs;
      const age = beat.at === null ? null : Math.round((now - beat.at) / 100) / 10;
      if (stale && !raised) {
        const host = (await store.get(serverId).catch(() => null))?.host ?? '';
        changes.push({ body: this.#body(serverId, host, 'firing', `no heartbeat for ${age ?? '?'} s (stale after ${beat.staleAfterMs / 1000} s)`, age, iso, iso), guard: { want: 'old', cutoffMs } });
      } else if (!stale && raised) {
        const message = beat.status === 'exited' ? 'the server exited: no longer stale' : 'heartbeat back';
        changes.push({ body: this.#body(serverId, raised.host, 'resolved', message, age, raised.since, iso), guard: beat.status === 'exited' ? undefined : { want: 'fresh', cutoffMs } });
      }
    }
    if (changes.length === 0) return;
    const positions = await writer.write(changes);
    changes.forEach((c, i) => {
      if (positions[i] !== null) this.#o.logger.info({ serverId: c.body.serverId, state: c.body.state }, `stale alert ${c.body.state}`);
    });
  }

  #body(serverId: string, host: string, state: AlertBody['state'], message: string, value: number | null, since: string, timestamp: string): AlertBody {
    return { id: alertId(serverId, STALE_RULE_ID), rule: STALE_RULE_ID, severity: 'critical', serverId, host, state, message: `stale: ${message}`, value, since, timestamp };
  }
}
