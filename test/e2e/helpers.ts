// End-to-end fixtures: real gateway and collector processes started from their sources, real
// target processes, and Socket.IO clients. Every process started here is stopped in teardown.
// Gateways require tokens, as deployed: each test file has its own random secret, given to every
// gateway (and `npm start`) it spawns, and the tokens its clients and REST calls carry come from here.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import { mintToken, secretKey, type TokenClaims } from '@vigil/gateway';
import { Keys, NAMESPACE } from '@vigil/protocol';
import { freePort, reapOnExit, stopProcess, waitFor } from '@vigil/testkit';

type Teardown = { teardown(fn: () => unknown): void };

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const GATEWAY_ENTRY = repo('services/gateway/src/cli.ts');
const ROOT = repo('');
export const COLLECTOR_ENTRY = repo('services/collector/src/cli.ts');

/** This test file's HS256 secret (VIGIL_AUTH_SECRET of the gateways it spawns). */
export const E2E_AUTH_SECRET = randomBytes(32).toString('base64url');

/** A real token for E2E_AUTH_SECRET: by default subject `e2e`, every server and its logs, one hour. */
export function e2eToken(claims: Partial<TokenClaims> = {}): Promise<string> {
  return mintToken(secretKey(E2E_AUTH_SECRET), { sub: 'e2e', vigil: { servers: ['*'], logs: true }, ttlSeconds: 3600, ...claims });
}

/** What clients of tests that are not about auth carry: everything, for the whole run. */
export const ALL_ACCESS_TOKEN = await e2eToken({ sub: 'e2e-all', ttlSeconds: 6 * 3600 });

/** Socket.IO's handshake `auth` with a token (ALL_ACCESS_TOKEN by default). */
export const socketAuth = (token = ALL_ACCESS_TOKEN) => ({ token });

/** The REST header of a token (ALL_ACCESS_TOKEN by default). */
export const bearer = (token = ALL_ACCESS_TOKEN) => ({ authorization: `Bearer ${token}` });

/** GET a gateway's REST API with a token as the bearer (ALL_ACCESS_TOKEN by default). */
export function apiGet(url: string, token = ALL_ACCESS_TOKEN): Promise<Response> {
  return fetch(url, { headers: bearer(token) });
}

export type Service = {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited(): ExitStatus | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
};

type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** `node <args>` with stdout and stderr collected into one text, and its exit status once it has one. */
function spawnNode(args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) {
  const child = reapOnExit(spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }), 'SIGTERM');
  let out = '';
  const append = (d: Buffer) => (out += d.toString());
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exit: ExitStatus | null = null;
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  return { child, output: () => out, exitStatus: () => exit, exited };
}

export function spawnService(t: Teardown, entry: string, args: string[], env: Record<string, string>): Service {
  const { child, output, exitStatus } = spawnNode(['--import', 'tsx', '--conditions=vigil:source', entry, ...args], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'info', ...env },
  });
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => stopProcess(child, signal);
  t.teardown(() => stop());
  return { child, pid: child.pid!, output, exited: exitStatus, stop };
}

export async function startGatewayProcess(t: Teardown, redisUrl: string, env: Record<string, string> = {}) {
  const port = await freePort();
  // /metrics is on a port of its own; the default (9464) would clash between test gateways.
  const metricsPort = await freePort();
  const service = spawnService(t, GATEWAY_ENTRY, [], {
    VIGIL_PORT: String(port),
    VIGIL_BIND_HOST: '127.0.0.1',
    VIGIL_REDIS_URL: redisUrl,
    VIGIL_STALE_SWEEP_MS: '200',
    VIGIL_METRICS_PORT: String(metricsPort),
    VIGIL_AUTH_SECRET: E2E_AUTH_SECRET,
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
  reapOnExit(child);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * `node scripts/run-local.mjs <args>` from the repository root, as `npm start` runs it, with its
 * output collected. Its gateways verify E2E_AUTH_SECRET's tokens (`VIGIL_AUTH_SECRET: ''` in `env`:
 * the run makes its own, as a plain `npm start` does). The caller decides how to stop it (SIGINT, as Ctrl-C would).
 */
export function spawnRunLocal(args: string[], env: Record<string, string>) {
  const runEnv = { ...process.env, REDIS_URL: '', VIGIL_AUTH_SECRET: E2E_AUTH_SECRET, ...env };
  // Test files run in parallel: each run's metrics ports come from the kernel, not from 9464 up.
  const metrics = args.includes('--metrics-port') ? [] : ['--metrics-port', '0'];
  const { child, output, exited } = spawnNode(['scripts/run-local.mjs', ...metrics, ...args], { cwd: ROOT, env: runEnv });
  return { child, output, exited: exited.then((status) => status.code) };
}

/** Resolves once a gateway lists `serverId` (its collector's first tick registered it): gateways refuse subscribing to unknown servers. */
export async function registered(gatewayUrl: string, serverId: string): Promise<void> {
  await waitFor(async () => (await fetch(`${gatewayUrl}/api/servers/${serverId}`, { headers: bearer() }).catch(() => null))?.status === 200, {
    timeoutMs: 30_000,
    message: `${serverId} to be registered`,
  });
}

/** Writes a registry entry as a collector that ran before would have left it (for tests that subscribe before theirs starts). */
export async function preRegister(redis: { command(...args: string[]): Promise<string> }, serverId: string): Promise<void> {
  const now = new Date().toISOString();
  const entry = { serverId, targetId: serverId, host: 'e2e', collectorId: 'e2e', pid: null, command: null, startedAt: null, status: 'running', restarts: 0, intervalMs: 1000, staleAfterMs: 60_000, updatedAt: now };
  await redis.command('HSET', Keys.registry, serverId, JSON.stringify(entry));
}

/** Ends a child with `signal` (SIGKILL by default; SIGKILL anyway if it outlives the grace period). */
export function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return stopProcess(child, signal);
}

/** A connected Socket.IO client carrying `token`, closed with the test. */
export async function client(t: Teardown, url: string, token = ALL_ACCESS_TOKEN): Promise<Socket> {
  const socket = connect(`${url}${NAMESPACE}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: socketAuth(token) });
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
