// Waiting with a deadline that a signal can cut short, and small HTTP helpers for probes.

export class Aborted extends Error {
  constructor(reason) {
    super(`aborted: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'Aborted';
  }
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted(signal.reason));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new Aborted(signal.reason));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `probe` until it returns something truthy (returned) or the deadline passes. */
export async function waitFor(probe, { timeoutMs = 30_000, intervalMs = 200, signal, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (signal?.aborted) throw new Aborted(signal.reason);
    try {
      const value = await probe();
      if (value) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${message}${why}`);
    }
    await sleep(intervalMs, signal);
  }
}

/** GET `url`: `{ status, body }`, body parsed as JSON when it is JSON. Throws on network errors. */
export async function httpGet(url, timeoutMs = 2000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, body };
}
