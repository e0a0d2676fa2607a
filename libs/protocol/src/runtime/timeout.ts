// A deadline on a promise, with a timer that never outlives the race.
export class TimeoutError extends Error {
  constructor(ms: number, what = 'answer') {
    super(`no ${what} within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The promise, or a TimeoutError after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(ms, what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
