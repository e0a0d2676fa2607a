// Ending a child process a test started: a signal, SIGKILL if it is still there after a grace
// period, and a promise that settles only once it has really exited.
import type { ChildProcess } from 'node:child_process';

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal` (SIGTERM by default), then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const reaped = new Map<ChildProcess, NodeJS.Signals>();
let reaperInstalled = false;

/**
 * Ends `child` with `signal` if this process ends first: a test file killed on its timeout never
 * runs its teardowns, and a collector or redis-server left behind loads the machine for every
 * test after it. Services get SIGTERM (a collector then ends the processes it runs); a signal
 * handler cannot wait, so whatever ignores it outlives us.
 */
export function reapOnExit(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  if (hasExited(child)) return child;
  reaped.set(child, signal);
  child.once('exit', () => reaped.delete(child));
  if (!reaperInstalled) {
    reaperInstalled = true;
    const reap = () => {
      for (const [c, sig] of reaped) c.kill(sig);
      reaped.clear();
    };
    process.once('exit', reap);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(sig, () => {
        reap();
        // Die of the same signal, as without this handler.
        process.kill(process.pid, sig);
      });
    }
  }
  return child;
}
