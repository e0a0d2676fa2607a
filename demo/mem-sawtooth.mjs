// Memory sawtooth: allocates DEMO_STEP_MB (default 8) of real, touched memory every
// DEMO_STEP_MS (default 1 s) up to DEMO_PEAK_MB (default 160), then frees it all and collects,
// so resident memory climbs and drops.
import v8 from 'node:v8';
import vm from 'node:vm';
import { envNumber, log, startDemo } from './common.mjs';

const NAME = 'mem-sawtooth';
const MB = 1024 * 1024;
const stepBytes = envNumber('DEMO_STEP_MB', 8) * MB;
const peakBytes = envNumber('DEMO_PEAK_MB', 160) * MB;
const stepMs = envNumber('DEMO_STEP_MS', 1000);

// Freed buffers go back to the OS only when V8 collects them: expose gc() without a flag.
v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');

startDemo(NAME);
let held = [];
let heldBytes = 0;
let cycles = 0;

setInterval(() => {
  if (heldBytes + stepBytes > peakBytes) {
    held = [];
    heldBytes = 0;
    gc();
    cycles++;
    log(NAME, `freed everything (cycle ${cycles})`);
    return;
  }
  // allocUnsafe + fill touches every page, so the memory is resident, not just reserved.
  held.push(Buffer.allocUnsafe(stepBytes).fill(held.length & 0xff));
  heldBytes += stepBytes;
  if (held.length % 5 === 0) log(NAME, `holding ${Math.round(heldBytes / MB)} MiB`);
}, stepMs);
