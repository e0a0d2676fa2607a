// Waiting with a deadline: poll a condition, wait for an event, sleep (a signal can cut each
// short), and a small HTTP GET for probes. The one implementation, in plain JS so that
// `npm start` runs it with plain node; @vigil/testkit re-exports it with the types of wait.d.mts.

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
export async function waitFor(probe, { timeoutMs = 10_000, intervalMs = 25, signal, message = 'condition' } = {}) {
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
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await sleep(intervalMs, signal);
  }
}

/** Retries an assertion-like function until it stops throwing. */
export async function eventually(fn, options = {}) {
  await waitFor(async () => {
    await fn();
    return true;
  }, options);
}

/** Resolves with the first emission of `event`, or rejects at the deadline. */
export function once(emitter, event, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event "${event}"`));
    }, timeoutMs);
    function onEvent(value) {
      clearTimeout(timer);
      resolve(value);
    }
    emitter.once(event, onEvent);
  });
}

/** GET `url` (with `headers`): `{ status, body }`, body parsed as JSON when it is JSON. Throws on network errors. */
export async function httpGet(url, timeoutMs = 2000, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, body };
}
