// CPU wave: busy for a share of every 100 ms slice, that share rising and falling along a sine
// over DEMO_PERIOD_MS (default one minute), between 0 and DEMO_PEAK (default 0.8 of one core).
// On a 1 s sampling interval the dashboard draws the wave.
import { envNumber, log, startDemo } from './common.mjs';

const NAME = 'cpu-wave';
const SLICE_MS = 100;
const periodMs = envNumber('DEMO_PERIOD_MS', 60_000);
const peak = Math.min(1, envNumber('DEMO_PEAK', 0.8));

startDemo(NAME);
const started = Date.now();
let lastLog = 0;

function slice() {
  const t = Date.now() - started;
  const share = (peak * (1 - Math.cos((2 * Math.PI * t) / periodMs))) / 2;
  const busyUntil = performance.now() + share * SLICE_MS;
  while (performance.now() < busyUntil) {
    // spin: this is the load
  }
  if (t - lastLog >= 10_000) {
    lastLog = t;
    log(NAME, `busy ${(share * 100).toFixed(0)}% of a core`);
  }
  setTimeout(slice, SLICE_MS - share * SLICE_MS);
}
slice();
