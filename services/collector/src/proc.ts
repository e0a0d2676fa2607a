// What the collector reads from /proc itself (pidusage reads the rest): the list of processes
// with their command lines, for `match` targets and for the registry's `command` field.
import { readFile, readdir } from 'node:fs/promises';

export type ProcessEntry = { pid: number; cmdline: string };

/** Registry entries carry at most this much of a command line. */
export const COMMAND_MAX_LENGTH = 4096;

/** The command line of a process, NUL-separated arguments joined with spaces; null if gone. */
export async function readCmdline(pid: number): Promise<string | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    // ENOENT/ESRCH: the process is gone; anything else is no better for us.
    return null;
  }
}

/** Every process with a command line (kernel threads have none), except `excludePid`. */
export async function scanProcesses(excludePid: number): Promise<ProcessEntry[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => pid !== excludePid);
  const lines = await Promise.all(pids.map((pid) => readCmdline(pid)));
  const out: ProcessEntry[] = [];
  pids.forEach((pid, i) => {
    const cmdline = lines[i];
    if (cmdline) out.push({ pid, cmdline });
  });
  return out;
}
