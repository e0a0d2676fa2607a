// CPU time of processes, read from /proc: what a process (ours or another) has spent so far.
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
const USER_HZ = 100;

/** utime + stime of a process in ms (10 ms resolution), or null when it is gone. */
export function processCpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / USER_HZ;
}

/** This process's own CPU time in µs (user + system, µs resolution). */
export function ownCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU ms of several processes at once, by name. */
export function snapshotCpu(pids: Record<string, number>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = processCpuMs(pid);
  return out;
}

/** Per-name difference of two snapshots (null where a process was missing). */
export function cpuDelta(before: Record<string, number | null>, after: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const name of Object.keys(before)) {
    const a = before[name];
    const b = after[name];
    out[name] = a == null || b == null ? null : b - a;
  }
  return out;
}

/** CPU ms the whole machine has spent busy (every core, every process), from /proc/stat. */
export function machineBusyMs(): number | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const line = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice: guests are inside user/nice.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
  return ((user + nice + system + irq + softirq + steal) * 1000) / USER_HZ;
}

/**
 * Cores' worth of CPU the rest of the machine used over a period: busy time minus what the named
 * processes spent. On a shared machine this says how much the figures had to compete with.
 */
export function otherCores(busyMs: number | null, ownMs: number | null, periodMs: number): number | null {
  if (busyMs === null || ownMs === null || periodMs <= 0) return null;
  return Math.round((Math.max(0, busyMs - ownMs) / periodMs) * 100) / 100;
}

/** Waits (at most `maxWaitMs`) for the rest of the machine to use less than `cores`; returns the last reading. */
export async function waitForQuiet(cores: number, maxWaitMs: number, log: (l: string) => void = () => {}): Promise<number | null> {
  const deadline = Date.now() + maxWaitMs;
  let reading: number | null = null;
  for (let i = 0; i < 1000; i++) {
    const b0 = machineBusyMs();
    const o0 = processCpuMs(process.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const b1 = machineBusyMs();
    const o1 = processCpuMs(process.pid);
    reading = otherCores(b0 === null || b1 === null ? null : b1 - b0, o0 === null || o1 === null ? null : o1 - o0, 1000);
    if (reading === null || reading < cores || Date.now() >= deadline) break;
    if (i % 10 === 0) log(`machine busy with other work (${reading} cores); waiting up to ${Math.round((deadline - Date.now()) / 1000)} s`);
  }
  return reading;
}
