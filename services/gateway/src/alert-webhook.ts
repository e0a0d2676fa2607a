// Alert notifications by webhook: each alert (firing or resolved) POSTed as JSON to
// VIGIL_ALERT_WEBHOOK_URL, at least once across every gateway that has the URL. The gateways share
// the alerts stream through one Redis consumer group: each entry is read by one of them, which
// retries it with backoff and XACKs it after a 2xx (or after its last attempt, counted as failed).
// An entry left pending by a gateway that died is claimed by another (XAUTOCLAIM) once idle for
// `claimIdleMs`; while retrying, the owner touches its entries so a slow receiver is not claimed
// from under it. Deliveries in flight are bounded, each request has a timeout, and the URL's
// secrets never reach a log: only its origin is named.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { ALERT_WEBHOOK_GROUP, AlertBody, AlertKeys, ErrorCodes, STREAM_FIELD, compile, parseJson } from '@vigil/protocol';

const checkBody = compile(AlertBody);

export type WebhookSettings = {
  url: string;
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  concurrency: number;
  claimIdleMs: number;
  pollMs: number;
};

export type AlertWebhookOptions = WebhookSettings & { redis: Redis; consumer: string; logger: Logger; registry: Registry };

const MAX_BACKOFF_MS = 60_000;

export class AlertWebhook {
  readonly #o: AlertWebhookOptions;
  readonly #origin: string;
  readonly #url: string;
  readonly #headers: Record<string, string> = { 'content-type': 'application/json' };
  readonly #outcomes: Counter<'outcome'>;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #groupReady = false;
  #polling: Promise<void> | null = null;

  constructor(options: AlertWebhookOptions) {
    this.#o = options;
    const url = new URL(options.url);
    this.#origin = url.origin;
    // fetch refuses a URL with credentials: they travel as Basic auth instead.
    if (url.username || url.password) {
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      this.#headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.#url = url.href;
    this.#outcomes = new Counter({
      name: 'vigil_gateway_alert_webhook_total',
      help: 'Alert webhook outcomes: delivered (a 2xx), retried (an attempt failed, another follows), failed (every attempt failed)',
      labelNames: ['outcome'],
      registers: [options.registry],
    });
    for (const outcome of ['delivered', 'retried', 'failed']) this.#outcomes.labels({ outcome }).inc(0);
  }

  start(): void {
    this.#running = true;
    this.#o.logger.info({ webhook: this.#origin, concurrency: this.#o.concurrency }, 'alert webhook on');
    this.#schedule(0);
  }

  /** Stops reading; deliveries in flight are abandoned unacknowledged (another gateway claims them later). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort.abort();
    await this.#polling;
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#polling = this.#poll()
        .catch((err: Error) => this.#o.logger.debug({ err: err.message }, 'alert webhook poll failed'))
        .finally(() => {
          this.#polling = null;
          this.#schedule(this.#o.pollMs);
        });
    }, delay);
  }

  async #poll(): Promise<void> {
    const { redis, consumer } = this.#o;
    if (!this.#groupReady) {
      // From the stream's end: alerts written before any gateway had a webhook are not sent.
      await redis.xgroup('CREATE', AlertKeys.stream, ALERT_WEBHOOK_GROUP, '$', 'MKSTREAM').catch((err: Error) => {
        if (!err.message.includes('BUSYGROUP')) throw err;
      });
      this.#groupReady = true;
    }
    let free = this.#o.concurrency - this.#inFlight.size;
    if (free <= 0) return;
    // Entries a dead gateway left pending first, then new ones.
    const claimed = (await redis.xautoclaim(AlertKeys.stream, ALERT_WEBHOOK_GROUP, consumer, this.#o.claimIdleMs, '0', 'COUNT', free)) as [string, [string, string[]][] | null, string[]?];
    const rows: [string, string[] | null][] = (claimed[1] ?? []).filter((r) => r && !this.#inFlight.has(r[0]));
    // Entries trimmed from the stream while pending come back as ids alone: nothing left to send.
    const gone = (claimed[2] ?? []) as string[];
    if (gone.length > 0) await redis.xack(AlertKeys.stream, ALERT_WEBHOOK_GROUP, ...gone);
    free -= rows.length;
    if (free > 0 && this.#running) {
      const read = (await redis.xreadgroup('GROUP', ALERT_WEBHOOK_GROUP, consumer, 'COUNT', free, 'STREAMS', AlertKeys.stream, '>')) as
        | [string, [string, string[]][]][]
        | null;
      for (const [, entries] of read ?? []) rows.push(...entries);
    }
    for (const [id, fields] of rows) {
      if (this.#inFlight.has(id)) continue;
      const at = fields ? fields.indexOf(STREAM_FIELD) : -1;
      const body = at >= 0 ? parseJson(fields![at + 1] ?? '') : undefined;
      if (!checkBody.check(body)) {
        this.#o.logger.warn({ code: ErrorCodes.REDIS_CORRUPT, what: `${AlertKeys.stream} ${id}` }, 'skipped a malformed alert in redis');
        await redis.xack(AlertKeys.stream, ALERT_WEBHOOK_GROUP, id);
        continue;
      }
      const delivery = this.#deliver(id, JSON.stringify({ ...body, position: id })).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, delivery);
    }
  }

  async #deliver(id: string, json: string): Promise<void> {
    const { redis, consumer, attempts } = this.#o;
    let why = '';
    for (let attempt = 1; attempt <= attempts && this.#running; attempt++) {
      if (attempt > 1) {
        this.#outcomes.inc({ outcome: 'retried' });
        await sleep(Math.min(this.#o.backoffMs * 2 ** (attempt - 2), MAX_BACKOFF_MS), this.#abort.signal);
        if (!this.#running) return;
        // Still ours: resets the entry's idle time so no other gateway claims it meanwhile.
        await redis.xclaim(AlertKeys.stream, ALERT_WEBHOOK_GROUP, consumer, 0, id, 'JUSTID').catch(() => undefined);
      }
      why = await this.#post(json);
      if (why === '') {
        this.#outcomes.inc({ outcome: 'delivered' });
        await redis.xack(AlertKeys.stream, ALERT_WEBHOOK_GROUP, id).catch(() => undefined);
        return;
      }
    }
    if (!this.#running) return;
    this.#outcomes.inc({ outcome: 'failed' });
    this.#o.logger.warn({ code: ErrorCodes.ALERT_WEBHOOK_FAILED, webhook: this.#origin, position: id, attempts, why }, 'alert webhook delivery failed');
    await redis.xack(AlertKeys.stream, ALERT_WEBHOOK_GROUP, id).catch(() => undefined);
  }

  /** One POST; '' on a 2xx, else why not. */
  async #post(json: string): Promise<string> {
    try {
      const res = await fetch(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body: json,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.#o.timeoutMs), this.#abort.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? '' : `status ${res.status}`;
    } catch (err) {
      // fetch's messages can quote the URL: name the failure only.
      return (err as Error).name === 'TimeoutError' ? 'timeout' : `request failed (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name})`;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
