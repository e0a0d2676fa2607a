// What the figures were measured on.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export type Machine = {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  redis: string;
  kernel: string;
  loadAvgAtStart: number[];
};

export function describeMachine(): Machine {
  const redisBin = process.env.VIGIL_REDIS_SERVER ?? 'redis-server';
  let redis = 'unknown';
  try {
    const out = execFileSync(redisBin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    redis = /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    /* reported as unknown */
  }
  let kernel = 'unknown';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    /* reported as unknown */
  }
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis,
    kernel,
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
