// A model the views watch: it says "changed" and its views render again, at most once per frame
// however many events arrived in between (a log flood must not render once per line).
import { useLayoutEffect, useReducer } from 'preact/hooks';

type Listener = () => void;

export class Observable {
  readonly #listeners = new Set<Listener>();
  #scheduled = false;

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Coalesced into one notification per animation frame. */
  protected changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      for (const listener of [...this.#listeners]) listener();
    });
  }
}

/** Renders the calling component again whenever `model` changes. */
export function useObservable(model: Observable): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  // A layout effect: subscribed before the frame in which a change could be announced.
  useLayoutEffect(() => model.subscribe(() => bump(undefined)), [model]);
}
