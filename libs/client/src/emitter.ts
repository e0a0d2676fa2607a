// A small typed event emitter that runs in browsers and Node alike. A listener that throws is
// reported and does not stop the others.
export type Listener<T> = (value: T) => void;

export class TypedEmitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; the returned function removes it (calling it twice is harmless). */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const entry = listener as Listener<never>;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[E]>)(value);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** Calls a user handler; an exception in it is reported, never thrown into the client. */
export function callSafely<T>(handler: ((value: T) => void) | undefined, value: T, onError: (err: unknown) => void): void {
  if (!handler) return;
  try {
    handler(value);
  } catch (err) {
    onError(err);
  }
}
