// The soak benchmark's cluster: `npm start`'s topology (scripts/run-local.mjs: three gateways behind
// nginx, two collectors) on a Redis this process owns (so that it can restart it), driven through
// run-local's --ready-file. run-local cannot restart a gateway; it reports one that dies and keeps
// the rest running, so a restart here is: SIGTERM the gateway (it drains), wait until it is gone,
// start it again exactly as it was started (argv, environment, working directory, read from /proc),
// its output appended to the same log file (the collectors keep following it), wait for /readyz.
// run-local stops when every gateway it started is gone, so one gateway must never be restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedis, stopProcess, waitFor, type RedisProcess } from '@vigil/testkit';
import { spawnRunLocal } from '../../test/e2e/helpers.js';
import { httpGet } from '../../scripts/lib/wait.mjs';
import { track } from './children.js';
import { launchOf, running } from './proc-stats.js';

export type ReadyInfo = {
  pid: number;
  runDir: string;
  token?: string;
  lb: { url: string; port: number; pid: number };
  gateways: Array<{ id: string; url: string; port: number; pid: number; metricsUrl?: string }>;
  collectors: Array<{ id: string; selfId: string; pid: number }>;
  redisUrl: string;
  servers: Array<{ id: string; how: string; collector: string; logs: boolean }>;
};

export type SoakCluster = {
  info: ReadyInfo;
  redis: RedisProcess;
  /** The current pid of each gateway (changes with every restart). */
  gatewayPid(id: string): number;
  restartGateway(id: string): Promise<{ oldPid: number; newPid: number; drainMs: number; readyMs: number }>;
  restartRedis(): Promise<{ oldPid: number | null; newPid: number | null; downMs: number }>;
  output(): string;
  stop(): Promise<void>;
};

export async function startSoakCluster(o: { intervalMs: number; env: Record<string, string>; log: (l: string) => void }): Promise<SoakCluster> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-soak-'));
  const readyFile = join(dir, 'ready.json');
  const port = await freePort();
  const { child, output, exited } = spawnRunLocal(
    ['--no-demo', '--port', String(port), '--interval', String(o.intervalMs), '--ready-file', readyFile],
    { VIGIL_REDIS_URL: redis.url, VIGIL_LOG_LEVEL: 'info', ...o.env },
  );
  track(child);
  const mine = new Map<string, ChildProcess>(); // gateways this process started again
  const stop = async () => {
    for (const g of mine.values()) await stopProcess(g, 'SIGTERM', 15_000);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000).unref())]);
      if (!done) child.kill('SIGKILL');
    }
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`run-local exited (${child.exitCode}):\n${output().slice(-3000)}`);
        return existsSync(readyFile);
      },
      { timeoutMs: 120_000, intervalMs: 200, message: 'the cluster to be up (its ready file)' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const info = JSON.parse(readFileSync(readyFile, 'utf8')) as ReadyInfo;
  const pids = new Map(info.gateways.map((g) => [g.id, g.pid]));

  const restartGateway = async (id: string) => {
    const gw = info.gateways.find((g) => g.id === id)!;
    const oldPid = pids.get(id)!;
    const how = launchOf(oldPid);
    const t0 = Date.now();
    process.kill(oldPid, 'SIGTERM');
    await waitFor(() => !running(oldPid), { timeoutMs: 30_000, intervalMs: 50, message: `gateway ${id} (pid ${oldPid}) to drain and exit` });
    const drainMs = Date.now() - t0;
    mine.delete(id);
    const fd = openSync(join(info.runDir, `gateway-${id}.log`), 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(how.argv[0]!, how.argv.slice(1), { cwd: how.cwd, env: how.env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    track(proc);
    mine.set(id, proc);
    const t1 = Date.now();
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`restarted gateway ${id} exited (${proc.exitCode})`);
      return (await httpGet(`${gw.url}/readyz`).catch(() => ({ status: 0 }))).status === 200;
    }, { timeoutMs: 30_000, intervalMs: 100, message: `restarted gateway ${id} to be ready` });
    pids.set(id, proc.pid!);
    return { oldPid, newPid: proc.pid!, drainMs, readyMs: Date.now() - t1 };
  };

  const restartRedis = async () => {
    const oldPid = redis.pid;
    const t0 = Date.now();
    await redis.stop();
    await redis.start();
    return { oldPid, newPid: redis.pid, downMs: Date.now() - t0 };
  };

  return { info, redis, gatewayPid: (id) => pids.get(id)!, restartGateway, restartRedis, output, stop };
}
