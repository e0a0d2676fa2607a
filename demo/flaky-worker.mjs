// A flaky worker: does a little work every second and, after about DEMO_LIFETIME_MS (default
// 40 s, ±20 %), gives up with exit code DEMO_EXIT_CODE (default 3). Run it under
// restart-loop.mjs to see a server go `restarted` on the dashboard.
import { envNumber, log, startDemo } from './common.mjs';

const NAME = 'flaky-worker';
const lifetimeMs = envNumber('DEMO_LIFETIME_MS', 40_000);
const exitCode = envNumber('DEMO_EXIT_CODE', 3);

startDemo(NAME);
let jobs = 0;
setInterval(() => {
  let x = 0;
  for (let i = 0; i < 200_000; i++) x += Math.sin(i);
  jobs++;
  if (jobs % 10 === 0) log(NAME, `finished ${jobs} jobs (checksum ${x.toFixed(3)})`);
}, 1000);

const lifetime = Math.round(lifetimeMs * (0.8 + 0.4 * Math.random()));
setTimeout(() => {
  log(NAME, `giving up after ${Math.round(lifetime / 1000)} s with exit code ${exitCode}`, 'error');
  process.exit(exitCode);
}, lifetime);
