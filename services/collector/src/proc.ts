// What the collector reads from /proc itself (pidusage reads the rest): the list of processes
// with their command lines, for `match` targets and for the registry's `command` field; process
// groups, for stopping supervised commands; the agent's own start time, for /metrics.
import { readFileSync } from 'node:fs';
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

/** How many live (not zombie) processes are in process group `pgid`. */
export async function liveGroupMembers(pgid: number): Promise<number> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return 0;
  }
  // The group exists; but an exited member that nobody has reaped yet still counts for kill(0).
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return 1;
  }
  let live = 0;
  await Promise.all(
    names.map(async (n) => {
      if (!/^\d+$/.test(n)) return;
      const fields = statFields(await readFile(`/proc/${n}/stat`, 'utf8').catch(() => ''));
      if (fields[2] === String(pgid) && fields[0] !== 'Z') live++;
    }),
  );
  return live;
}

/** The fields of a /proc/<pid>/stat line after "pid (comm) ", from state on: comm may hold spaces and parentheses. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

let selfStart: number | null | undefined;

/**
 * The agent's own start, epoch seconds, exactly as /proc has it (boot time + start in clock
 * ticks), or null off Linux. Read once.
 */
export function agentStartSeconds(): number | null {
  if (selfStart !== undefined) return selfStart;
  try {
    const starttime = Number(statFields(readFileSync('/proc/self/stat', 'utf8'))[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const at = btime + starttime / 100;
    selfStart = Number.isFinite(at) ? at : null;
  } catch {
    selfStart = null;
  }
  return selfStart;
}
