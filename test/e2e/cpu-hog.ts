// A CPU hog for suites that must hold on a starved machine: processes that spin, by default
// HOGS_PER_CORE per core, each ending by itself after `ms` (so a crashed test leaves nothing
// spinning for long), and killed by pid when stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Spinning processes per core. With the old lost-session defect of issue 10 (a session not read
 * within 1 s gave the client a new, empty one): one per core did not reproduce it; four per core
 * (8 on 2 cores) reproduced it in the run that found it (49 clients silent after the Redis
 * restart) but not in a later run on a quieter machine (load 7.8); eight per core reproduced it
 * (46 sessions unread, 3 scenarios failing) but also failed the drain scenario of the fixed code
 * once (16 of 62 clients not back within 30 s), so it cannot be the default of `npm test` until
 * that is understood. Four per core is the harshest setting tried that the current code passes; the suite
 * takes about 35 s with it (about 2 min with eight per core) on 2 cores. VIGIL_HOG_PROCS overrides.
 */
export const HOGS_PER_CORE = 4;

export type CpuHog = {
  pids: number[];
  /**
   * Kills every hog process by pid; returns the CPU seconds each one got, and whether every one
   * was still spinning (if not, whatever ran after its end ran unstarved).
   */
  stop(): { cpuSeconds: number[]; spunToTheEnd: boolean };
};

/** CPU seconds (user + system) a live process has used, from /proc; 0 when unknown. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

export function startCpuHog(o: { ms: number; count?: number }): CpuHog {
  const count = o.count ?? HOGS_PER_CORE * availableParallelism();
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    children.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${Math.round(o.ms)}; while (Date.now() < end);`], { stdio: 'ignore' }));
  }
  const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  return {
    pids: children.map((c) => c.pid!),
    stop() {
      const spunToTheEnd = children.every(running);
      const used = children.map((c) => {
        const seconds = cpuSeconds(c.pid!);
        if (running(c)) c.kill('SIGKILL');
        return seconds;
      });
      return { cpuSeconds: used, spunToTheEnd };
    },
  };
}
