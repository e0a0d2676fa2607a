// A CPU hog for suites that must hold on a starved machine: processes that spin, by default one
// per core, each ending by itself after `ms` (so a crashed test leaves nothing spinning for
// long), and killed by pid when stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type CpuHog = {
  pids: number[];
  /** Kills every hog process by pid; returns the CPU seconds each one got. */
  stop(): number[];
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
  const count = o.count ?? availableParallelism();
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    children.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${Math.round(o.ms)}; while (Date.now() < end);`], { stdio: 'ignore' }));
  }
  return {
    pids: children.map((c) => c.pid!),
    stop() {
      return children.map((c) => {
        const used = cpuSeconds(c.pid!);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        return used;
      });
    },
  };
}
