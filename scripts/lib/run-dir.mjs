// The run directory: .vigil/run/<stamp>-<pid>/ holds each child's log and state.json (what was
// started, by pid). `latest` points at the newest run. Old runs are pruned; processes left over
// by a run that was killed before it could stop them are stopped first.
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTicks } from './supervisor.mjs';
import { sleep } from './wait.mjs';

const KEEP_RUNS = 5;

function alive(entry) {
  return entry && entry.startTicks !== null && startTicks(entry.pid) === entry.startTicks;
}

function readState(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Stops what earlier runs left behind: a process counts only if its pid AND start time match
 * what that run recorded, and that run's own script is gone. Returns what it stopped.
 */
export async function stopLeftovers(base, log) {
  let names = [];
  try {
    names = readdirSync(base).filter((n) => n !== 'latest');
  } catch {
    return [];
  }
  const stopped = [];
  for (const name of names) {
    const dir = join(base, name);
    const state = readState(dir);
    if (!state || state.stopped || alive(state.owner)) continue;
    for (const p of [...state.procs].reverse()) {
      if (!alive(p)) continue;
      log(`stopping ${p.name} (pid ${p.pid}) left over from run ${name}, whose script was killed`);
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {
        continue;
      }
      for (let i = 0; i < 50 && alive(p); i++) await sleep(100);
      if (alive(p)) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      stopped.push(p);
    }
    if (typeof state.tmpDir === 'string' && state.tmpDir.includes('vigil-local-')) rmSync(state.tmpDir, { recursive: true, force: true });
    writeFileSync(join(dir, 'state.json'), `${JSON.stringify({ ...state, stopped: true }, null, 2)}\n`);
  }
  return stopped;
}

function isOld(path, ms = 10 * 60_000) {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Creates a new run directory under `base`, points `latest` at it, prunes old finished runs. */
export function createRunDir(base) {
  mkdirSync(base, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  const name = `${stamp}-${process.pid}`;
  const dir = join(base, name);
  mkdirSync(dir);
  // Owned from the first moment: a run starting at the same time (two test suites) must not
  // take this directory for a finished one and prune it before our supervisor writes its state.
  writeFileSync(join(dir, 'state.json'), `${JSON.stringify({ owner: { pid: process.pid, startTicks: startTicks(process.pid) }, stopped: false, procs: [] }, null, 2)}\n`);
  const latest = join(base, 'latest');
  rmSync(latest, { force: true });
  try {
    symlinkSync(name, latest);
  } catch {
    /* a filesystem without symlinks: the banner names the directory anyway */
  }
  const finished = readdirSync(base)
    .filter((n) => n !== 'latest' && n !== name)
    .filter((n) => {
      const state = readState(join(base, n));
      if (state === null) return isOld(join(base, n)); // unreadable: only once surely abandoned
      return state.stopped || !alive(state.owner);
    })
    .sort();
  for (const old of finished.slice(0, Math.max(0, finished.length - (KEEP_RUNS - 1)))) {
    rmSync(join(base, old), { recursive: true, force: true });
  }
  return { dir, name };
}
