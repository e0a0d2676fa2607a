// Waiting with a deadline: tests wait on events or poll a condition, never sleep blindly.
import type { EventEmitter } from 'node:events';

export type WaitOptions = { timeoutMs?: number; intervalMs?: number; message?: string };

/** Polls `probe` until it returns a truthy value (which is returned) or the deadline passes. */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.message ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Retries an assertion-like function until it stops throwing. */
export async function eventually(fn: () => void | Promise<void>, options: WaitOptions = {}): Promise<void> {
  await waitFor(async () => {
    await fn();
    return true;
  }, options);
}

/** Resolves with the first emission of `event`, or rejects at the deadline. */
export function once<T = unknown>(emitter: Pick<EventEmitter, 'once' | 'off'>, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event "${event}"`));
    }, timeoutMs);
    function onEvent(value: T) {
      clearTimeout(timer);
      resolve(value);
    }
    emitter.once(event, onEvent);
  });
}
