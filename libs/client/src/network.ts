// Online/offline signals. In a browser they come from `navigator.onLine` and the window's
// `online`/`offline` events; in Node there are none (the connection state alone tells).
export type NetworkStatus = {
  online(): boolean;
  /** Calls `listener` on every change; returns a function that stops it. */
  watch(listener: (online: boolean) => void): () => void;
};

type BrowserGlobals = {
  navigator?: { onLine?: unknown };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
};

export function browserNetwork(): NetworkStatus | null {
  const g = globalThis as BrowserGlobals;
  const add = g.addEventListener;
  const remove = g.removeEventListener;
  if (typeof add !== 'function' || typeof remove !== 'function' || typeof g.navigator?.onLine !== 'boolean') return null;
  return {
    online: () => g.navigator?.onLine !== false,
    watch(listener) {
      const up = () => listener(true);
      const down = () => listener(false);
      add.call(g, 'online', up);
      add.call(g, 'offline', down);
      return () => {
        remove.call(g, 'online', up);
        remove.call(g, 'offline', down);
      };
    },
  };
}
