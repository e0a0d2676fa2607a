// End-to-end fixtures: real gateway and collector processes started from their sources, real
// target processes, and Socket.IO clients. Every process started here is stopped in teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import { NAMESPACE } from '@vigil/protocol';
import { freePort, waitFor } from '@vigil/testkit';

type Teardown = { teardown(fn: () => unknown): void };

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const GATEWAY_ENTRY = repo('services/gateway/src/index.ts');
const ROOT = repo('');
export const COLLECTOR_ENTRY = repo('services/collector/src/cli.ts');

export type Service = {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

export function spawnService(t: Teardown, entry: string, args: string[], env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', entry, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitedPromise = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exit) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exitedPromise;
    clearTimeout(timer);
  };
  t.teardown(() => stop());
  return { child, pid: child.pid!, output: () => out, exited: () => exit, stop };
}

export async function startGatewayProcess(t: Teardown, redisUrl: string, env: Record<string, string> = {}) {
  const port = await freePort();
  // /metrics is on a port of its own; the default (9464) would clash between test gateways.
  const metricsPort = await freePort();
  const service = spawnService(t, GATEWAY_ENTRY, [], {
    PORT: String(port),
    HOST: '127.0.0.1',
    VIGIL_REDIS_URL: redisUrl,
    VIGIL_STALE_SWEEP_MS: '200',
    VIGIL_METRICS_PORT: String(metricsPort),
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (service.exited()) throw new Error(`gateway exited: ${service.output()}`);
      return (await fetch(`${url}/readyz`).catch(() => null))?.status === 200;
    },
    { timeoutMs: 30_000, message: 'gateway to be ready' },
  );
  return { ...service, url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** A real process that uses a little CPU (about 20% of a core) and lives until killed. */
export function spawnTarget(t: Teardown, label: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['-e', `process.title = ${JSON.stringify(label)}; setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 100);`],
    { stdio: 'ignore' },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * `node scripts/run-local.mjs <args>` from the repository root, as `npm start` runs it, with its
 * output collected. The caller decides how to stop it (SIGINT, as Ctrl-C would).
 */
export function spawnRunLocal(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['scripts/run-local.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

export async function client(t: Teardown, url: string): Promise<Socket> {
  const socket = connect(`${url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.teardown(() => socket.close());
  await waitFor(() => socket.connected, { message: 'client to connect' });
  return socket;
}

export function collect<T>(socket: Socket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (payload: T) => got.push(payload));
  return got;
}

export async function emitAck<T = Record<string, unknown>>(socket: Socket, event: string, payload?: unknown): Promise<T> {
  return (await socket.timeout(5000).emitWithAck(event, payload)) as T;
}
