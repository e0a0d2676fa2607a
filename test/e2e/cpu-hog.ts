// A CPU hog for suites that must hold on a starved machine: processes that spin, by default
// HOGS_PER_CORE per core, each ending by itself after `ms` (so a crashed test leaves nothing
// spinning for long), and killed by pid when stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Spinning processes per core. One per core did not reproduce the lost-session defect of issue 10
 * (gateways still read a session within its 1 s budget: the scheduler splits a core between the
 * spinner and the few busy cluster processes); four per core (8 on 2 cores) did, every run: 49
 * clients silent after the Redis restart on the old code. Four keeps a gateway's share of a core
 * near what it gets on a CI machine busy with other jobs, which is where the defect was seen.
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
