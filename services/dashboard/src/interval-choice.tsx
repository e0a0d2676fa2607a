// How often the server page wants samples: a choice of intervals, asked through the client
// (the server's collector samples faster while someone asks, down to its own minimum).
import { DEFAULT_INTERVAL_MS } from '@vigil/protocol';
import type { ServerMonitor } from './server-monitor.js';
import { formatInterval } from './format.js';

/** The choices offered; the default (nothing asked) is the earlier system's interval. */
export const INTERVAL_CHOICES = [1000, DEFAULT_INTERVAL_MS] as const;

export function IntervalChoice({ monitor }: { monitor: ServerMonitor }) {
  const current = monitor.asked ?? DEFAULT_INTERVAL_MS;
  return (
    <fieldset class="interval-choice" data-testid="interval-choice">
      <legend>Updates every</legend>
      {INTERVAL_CHOICES.map((ms) => (
        <label key={ms} class={ms === current ? 'chosen' : undefined}>
          <input
            type="radio"
            name={`interval-${monitor.serverId}`}
            value={ms}
            checked={ms === current}
            onChange={() => void monitor.setInterval(ms === DEFAULT_INTERVAL_MS ? undefined : ms)}
          />
          {formatInterval(ms)}
        </label>
      ))}
    </fieldset>
  );
}
