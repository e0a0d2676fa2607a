// Readiness that means it: a probe message is published and must come back through this
// gateway's own subscriber connection, proving that pub/sub delivery works right now.
import type { Redis } from 'ioredis';
import { probeChannel } from '@vigil/protocol';

export type ReadinessResult = { ready: boolean; reason?: string; roundTripMs?: number };

export class Readiness {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #command: Redis;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #waiting = new Map<string, () => void>();
  #inFlight: Promise<ReadinessResult> | null = null;
  #closed = false;
  #draining = false;
  #seq = 0;
  readonly #onMessage = (channel: Buffer, message: Buffer) => {
    if (channel.toString() !== this.#channel) return;
    this.#waiting.get(message.toString())?.();
  };

  constructor(clients: { pub: Redis; sub: Redis; command: Redis }, gatewayId: string, timeoutMs: number) {
    this.#pub = clients.pub;
    this.#sub = clients.sub;
    this.#command = clients.command;
    this.#channel = probeChannel(gatewayId);
    this.#timeoutMs = timeoutMs;
    this.#sub.on('smessageBuffer', this.#onMessage);
    this.#sub.ssubscribe(this.#channel).catch(() => undefined);
  }

  /** From now on the gateway is not ready: it is draining before it stops. */
  markDraining(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining || this.#closed;
  }

  /** Concurrent callers share one probe. */
  check(): Promise<ReadinessResult> {
    if (this.#closed || this.#draining) return Promise.resolve({ ready: false, reason: 'shutting down' });
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  close(): void {
    this.#closed = true;
    this.#sub.off('smessageBuffer', this.#onMessage);
    for (const resolve of this.#waiting.values()) resolve();
    this.#waiting.clear();
  }

  async #probe(): Promise<ReadinessResult> {
    for (const [name, client] of [['publisher', this.#pub], ['subscriber', this.#sub], ['command', this.#command]] as const) {
      if (client.status !== 'ready') return { ready: false, reason: `redis ${name} connection is ${client.status}` };
    }
    const nonce = `${Date.now()}:${++this.#seq}`;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<boolean>((resolve) => {
      this.#waiting.set(nonce, () => resolve(true));
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    try {
      // Not awaited: if Redis vanished unnoticed the publish waits for its return, while the
      // answer must come within the timeout.
      this.#pub.spublish(this.#channel, nonce).catch(() => undefined);
      const ok = await delivered;
      if (this.#closed) return { ready: false, reason: 'shutting down' };
      if (!ok) return { ready: false, reason: `probe not received within ${this.#timeoutMs} ms` };
      return { ready: true, roundTripMs: Math.round((performance.now() - started) * 100) / 100 };
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(nonce);
    }
  }
}
