// A test process killed by its runner (SIGTERM on a timeout) runs no teardowns: what it spawned
// through reapOnExit must still end with it, or it loads the machine for every test after it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { waitFor } from '../src/index.js';

const processTs = fileURLToPath(new URL('../src/process.ts', import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`a process ended by ${signal} takes its reaped children with it`, async (t) => {
    // The "test process": spawns an idler through reapOnExit, prints its pid, then waits forever.
    const script = `
      import { spawn } from 'node:child_process';
      const { reapOnExit } = await import(${JSON.stringify(processTs)});
      const idler = reapOnExit(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
      console.log(idler.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^\d+\n/.test(out), { timeoutMs: 30_000, message: 'the child pid' });
    const childPid = Number.parseInt(out, 10);
    t.teardown(() => {
      if (alive(childPid)) process.kill(childPid, 'SIGKILL');
    });
    t.ok(alive(childPid), 'the child runs');
    const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.once('exit', (_code, sig) => resolve(sig)));
    parent.kill(signal);
    t.equal(await exited, signal, `the parent still dies of ${signal}`);
    await waitFor(() => !alive(childPid), { timeoutMs: 10_000, message: 'the child to be gone' });
    t.notOk(alive(childPid), 'the child is gone');
  });
}
