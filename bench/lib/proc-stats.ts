// What /proc says about one process, for the soak benchmark: resident memory, open file
// descriptors, its children (nginx's workers) and whether it still runs. Linux only; every reader
// answers null for a process that is gone rather than throwing.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** VmRSS in bytes, or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** How many file descriptors the process holds open, or null. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Alive and not a zombie waiting to be reaped. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Direct children's pids (nginx master → workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** How a process was started: argv, environment and working directory (to start it again, the same). */
export function launchOf(pid: number): { argv: string[]; env: Record<string, string>; cwd: string } {
  const split = (path: string) => readFileSync(path, 'utf8').split('\0').filter(Boolean);
  const env: Record<string, string> = {};
  for (const kv of split(`/proc/${pid}/environ`)) {
    const at = kv.indexOf('=');
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return { argv: split(`/proc/${pid}/cmdline`), env, cwd: readlinkSync(`/proc/${pid}/cwd`) };
}

/** RSS and fds of a process and its children together (nginx: master plus workers). */
export function treeStats(pid: number): { rss: number | null; fds: number | null } {
  const pids = [pid, ...childPids(pid)];
  const rss = pids.map(rssBytes);
  const fds = pids.map(fdCount);
  if (rss[0] === null || fds[0] === null) return { rss: null, fds: null };
  return { rss: rss.reduce<number>((a, v) => a + (v ?? 0), 0), fds: fds.reduce<number>((a, v) => a + (v ?? 0), 0) };
}
