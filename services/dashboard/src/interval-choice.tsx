// How often the server page wants samples: a choice of intervals, asked through the client
// (the server's collector samples faster while someone asks, down to its own minimum).
import { DEFAULT_INTERVAL_MS } from '@vigil/protocol';
import type { ServerMonitor } from './server-monitor.js';
import { formatInterval } from './format.js';

/** The faster interval offered; the other choice is to ask nothing: the server's configured interval. */
export const FAST_INTERVAL_MS = 1000;

export function IntervalChoice({ monitor }: { monitor: ServerMonitor }) {
  // What the server is configured at (the earlier system's 5 s until its facts are read): the
  // choice that asks nothing says that, not a fixed 5 s.
  const configured = monitor.facts?.intervalMs ?? DEFAULT_INTERVAL_MS;
  const choices: Array<{ ms: number; ask: number | undefined }> = [{ ms: configured, ask: undefined }];
  if (configured > FAST_INTERVAL_MS) choices.unshift({ ms: FAST_INTERVAL_MS, ask: FAST_INTERVAL_MS });
  // With one choice left (configured at 1 s or faster), it is the one in effect, whatever was asked before.
  const asked = choices.length === 1 ? undefined : monitor.asked;
  return (
    <fieldset class="interval-choice" data-testid="interval-choice">
      <legend>Updates every</legend>
      {choices.map(({ ms, ask }) => {
        const chosen = ask === asked;
        return (
          <label key={ask ?? 'configured'} class={chosen ? 'chosen' : undefined}>
            <input type="radio" name={`interval-${monitor.serverId}`} value={ask ?? ''} checked={chosen} onChange={() => void monitor.setInterval(ask)} />
            {formatInterval(ms)}
          </label>
        );
      })}
    </fieldset>
  );
}
