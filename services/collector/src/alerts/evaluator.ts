// Evaluates each server's alert rules on what the collector already sees: every published report
// (tick samples, status changes, a supervisor's starts and exits) and every captured log line. A
// rule changes state once per change (firing → resolved → firing …), never once per tick.
//
// Restart safety: the firing hash in Redis is the truth. At start the evaluator reads what its own
// servers have firing and takes it as its state, so a condition still true fires nothing new and a
// condition no longer true is resolved (rules no longer configured are resolved at once). Counting
// rules (restarts, logs) do not persist their counts: a firing one is held for one window after
// the restart unless it is met again. Every write is a check-and-set (AlertWriter): a change sent
// twice (a retry after an outage) is stored and broadcast once.
import type { Logger } from 'pino';
import { ErrorCodes, STALE_RULE_ID, alertId, meetsLevel, type AlertBody, type AlertEvent, type LogLevel } from '@vigil/protocol';
import type { AlertChange } from '@vigil/store';
import type { ServerReport } from '../server-state.js';
import type { Rule } from './rules.js';

/** Changes held while Redis is away; past this the oldest go (the newest say what is true now). */
export const PENDING_ALERTS_MAX = 1000;

export type AlertSink = {
  write(changes: readonly AlertChange[]): Promise<Array<string | null>>;
  firing(filter: (alert: AlertEvent) => boolean): Promise<AlertEvent[]>;
};

export type EvaluatorOptions = {
  host: string;
  /** The rules of a server (by its target), [] for none. */
  rulesOf: (serverId: string) => readonly Rule[];
  /** Whether a server id is one of this collector's (seeding reads only those). */
  owns: (serverId: string) => boolean;
  sink: AlertSink;
  logger: Logger;
  now: () => number;
};

type State = {
  firing: { since: number } | null;
  /** cpu/memory/exited: since when the condition holds, or null. */
  holdsSince: number | null;
  /** restarts/logs: the newest moreThan + 1 event times. */
  times: number[];
  /** A counting rule seeded as firing at start stays so until then. */
  holdUntil: number;
};

export class AlertEvaluator {
  readonly #o: EvaluatorOptions;
  readonly #states = new Map<string, State>();
  #pending: AlertChange[] = [];
  #writing: Promise<void> | null = null;
  #loaded = false;
  #loading: Promise<void> | null = null;
  #failing = false;

  constructor(options: EvaluatorOptions) {
    this.#o = options;
  }

  /** Reads what this collector's servers have firing (retried on the next report if Redis is away). */
  load(): Promise<void> {
    if (this.#loaded) return Promise.resolve();
    this.#loading ??= this.#load().finally(() => (this.#loading = null));
    return this.#loading;
  }

  async #load(): Promise<void> {
    let firing: AlertEvent[];
    try {
      // `stale` is the gateways' to raise and resolve.
      firing = await this.#o.sink.firing((a) => a.rule !== STALE_RULE_ID && this.#o.owns(a.serverId));
    } catch (err) {
      this.#o.logger.warn({ code: ErrorCodes.REDIS_UNAVAILABLE, err: (err as Error).message }, 'firing alerts unreadable; alert rules wait for redis');
      return;
    }
    const now = this.#o.now();
    for (const alert of firing) {
      const rule = this.#o.rulesOf(alert.serverId).find((r) => r.id === alert.rule);
      if (!rule) {
        this.#enqueue({ ...alert, position: undefined, state: 'resolved', message: `${alert.rule}: rule no longer configured`, timestamp: new Date(now).toISOString() });
        continue;
      }
      const since = Date.parse(alert.since);
      const s = this.#state(alert.serverId, rule);
      s.firing = { since: Number.isFinite(since) ? since : now };
      if (rule.kind === 'cpu' || rule.kind === 'memory' || rule.kind === 'exited') s.holdsSince = s.firing.since;
      else s.holdUntil = now + rule.windowMs;
    }
    this.#loaded = true;
    if (firing.length > 0) this.#o.logger.info({ firing: firing.length }, 'alerts firing at start taken over');
    this.#flush();
  }

  /** A published batch of reports (a tick, or a supervisor's start or exit). */
  observe(reports: readonly ServerReport[], at: number): void {
    if (!this.#loaded) {
      void this.load();
      return;
    }
    for (const r of reports) {
      for (const rule of this.#o.rulesOf(r.server.serverId)) this.#evaluate(r, rule, at);
    }
    this.#flush();
  }

  /** A captured log line of a server that has log rules. */
  onLine(serverId: string, level: LogLevel, message: string, at: number): void {
    if (!this.#loaded) return;
    for (const rule of this.#o.rulesOf(serverId)) {
      if (rule.kind !== 'logs' || !meetsLevel(level, rule.level)) continue;
      if (rule.pattern && !rule.pattern.test(message)) continue;
      const s = this.#state(serverId, rule);
      this.#record(s, at, rule.moreThan);
      const count = this.#count(s, at, rule.windowMs);
      if (count > rule.moreThan && !s.firing) this.#change(serverId, rule, s, true, count, at, this.#message(rule, count, true));
    }
    this.#flush();
  }

  /** Resolves when every change so far was written (or given up to an outage). */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #evaluate(r: ServerReport, rule: Rule, at: number): void {
    // Its collector stops (publishStopped): that says nothing about the process; what fires stays.
    if (r.server.status === 'stopped') return;
    const serverId = r.server.serverId;
    const s = this.#state(serverId, rule);
    let holds: boolean;
    let value: number | null = null;
    switch (rule.kind) {
      case 'cpu':
      case 'memory': {
        // A supervisor's report has no sample: it says nothing about usage unless the process is gone.
        if (!r.sample && r.server.status !== 'exited') return;
        value = r.sample ? (rule.kind === 'cpu' ? r.sample.cpu : r.sample.rss) : null;
        const above = value !== null && value > (rule.kind === 'cpu' ? rule.abovePercent : rule.aboveBytes);
        s.holdsSince = above ? (s.holdsSince ?? at) : null;
        holds = above && at - s.holdsSince! >= rule.forMs;
        break;
      }
      case 'exited': {
        if (r.server.status === null) return;
        const gone = r.server.status === 'exited';
        s.holdsSince = gone ? (s.holdsSince ?? at) : null;
        holds = gone && at - s.holdsSince! >= rule.forMs;
        value = r.server.restarts;
        break;
      }
      case 'restarts':
        if (r.change?.status === 'restarted') this.#record(s, at, rule.moreThan);
        value = this.#count(s, at, rule.windowMs);
        holds = value > rule.moreThan || at < s.holdUntil;
        break;
      case 'logs':
        value = this.#count(s, at, rule.windowMs);
        holds = value > rule.moreThan || at < s.holdUntil;
        break;
    }
    if (holds !== (s.firing !== null)) this.#change(serverId, rule, s, holds, value, at, this.#message(rule, value, holds, r));
  }

  #message(rule: Rule, value: number | null, firing: boolean, r?: ServerReport): string {
    const secs = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;
    let text: string;
    switch (rule.kind) {
      case 'cpu':
        text = firing
          ? `CPU ${value}% above ${rule.abovePercent}% for ${secs(rule.forMs)}`
          : value === null ? 'process gone' : `CPU ${value}%, at or below ${rule.abovePercent}%`;
        break;
      case 'memory':
        text = firing
          ? `RSS ${mib(value!)} above ${mib(rule.aboveBytes)} for ${secs(rule.forMs)}`
          : value === null ? 'process gone' : `RSS ${mib(value)}, at or below ${mib(rule.aboveBytes)}`;
        break;
      case 'exited':
        text = firing ? 'process exited' : `process running again${r?.server.process ? ` (pid ${r.server.process.pid})` : ''}`;
        break;
      case 'restarts':
        text = `${value} restart${value === 1 ? '' : 's'} in ${secs(rule.windowMs)} (alert above ${rule.moreThan})`;
        break;
      case 'logs':
        text = `${value} line${value === 1 ? '' : 's'} at ${rule.level} or above${rule.pattern ? ' matching the pattern' : ''} in ${secs(rule.windowMs)} (alert above ${rule.moreThan})`;
        break;
    }
    return `${rule.name}: ${text}`;
  }

  #change(serverId: string, rule: Rule, s: State, firing: boolean, value: number | null, at: number, message: string): void {
    if (firing) s.firing = { since: at };
    const since = s.firing?.since ?? at;
    if (!firing) {
      s.firing = null;
      s.holdUntil = 0;
    }
    const iso = new Date(at).toISOString();
    this.#enqueue({
      id: alertId(serverId, rule.id),
      rule: rule.id,
      severity: rule.severity,
      serverId,
      host: this.#o.host,
      state: firing ? 'firing' : 'resolved',
      message,
      value,
      since: new Date(since).toISOString(),
      timestamp: iso,
    });
  }

  #enqueue(body: AlertBody & { position?: unknown }): void {
    const { position: _position, ...clean } = body;
    this.#pending.push({ body: clean });
    if (this.#pending.length > PENDING_ALERTS_MAX) {
      this.#pending.shift();
      this.#o.logger.warn({ code: ErrorCodes.EVENTS_DROPPED, max: PENDING_ALERTS_MAX }, 'alert queue full: dropping the oldest change');
    }
  }

  /** Writes what waits, one write at a time; a failed write keeps it for the next report. */
  #flush(): void {
    if (this.#writing || this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#writing = this.#o.sink.write(batch).then(
      (positions) => {
        if (this.#failing) this.#o.logger.info('alert changes reach redis again');
        this.#failing = false;
        batch.forEach((c, i) => {
          const fields = { serverId: c.body.serverId, rule: c.body.rule, severity: c.body.severity, state: c.body.state };
          if (positions[i] !== null) this.#o.logger.info(fields, `alert ${c.body.state}: ${c.body.message}`);
        });
      },
      (err: Error) => {
        if (!this.#failing) this.#o.logger.warn({ code: ErrorCodes.REDIS_WRITE_FAILED, err: err.message }, 'alert write failed: keeping the changes until redis recovers');
        this.#failing = true;
        this.#pending = [...batch, ...this.#pending].slice(-PENDING_ALERTS_MAX);
      },
    ).finally(() => {
      this.#writing = null;
      if (!this.#failing) this.#flush();
    });
  }

  #state(serverId: string, rule: Rule): State {
    const key = alertId(serverId, rule.id);
    let s = this.#states.get(key);
    if (!s) this.#states.set(key, (s = { firing: null, holdsSince: null, times: [], holdUntil: 0 }));
    return s;
  }

  #record(s: State, at: number, moreThan: number): void {
    s.times.push(at);
    if (s.times.length > moreThan + 1) s.times.splice(0, s.times.length - (moreThan + 1));
  }

  #count(s: State, at: number, windowMs: number): number {
    while (s.times.length > 0 && at - s.times[0]! > windowMs) s.times.shift();
    return s.times.length;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
