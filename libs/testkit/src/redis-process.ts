// A private redis-server on a free loopback port, owned by the test that started it: it can be
// stopped, started again on the same port (a real outage), and is killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../scripts/lib/ports.mjs';
import { waitFor } from '../../../scripts/lib/wait.mjs';
import { stopProcess } from './process.js';

export type RedisProcess = {
  readonly port: number;
  readonly url: string;
  /** The pid of the running redis-server (for reading its CPU from /proc); null while stopped. */
  readonly pid: number | null;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Sends a raw inline command and returns the raw reply (for checks like PUBSUB). */
  command(...args: string[]): Promise<string>;
  /** Stops the server for good and removes its directory. */
  close(): Promise<void>;
};

const REDIS_BIN = process.env.VIGIL_REDIS_SERVER ?? 'redis-server';

// A test process killed by its runner (a timeout sends SIGTERM) must not leave redis-servers
// behind: kill every live one on exit, and turn the signals into an exit.
const live = new Set<ChildProcess>();
let reaperInstalled = false;
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

export async function startRedis(options: { port?: number; password?: string } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  let child: ChildProcess | null = null;
  let closed = false;

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(
      REDIS_BIN,
      [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
        ...(options.password ? ['--requirepass', options.password] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    installReaper();
    live.add(proc);
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', () => {
      live.delete(proc);
      if (child === proc) child = null;
    });
    // Stop polling as soon as it is gone (stdio closed, so its complaint has been read).
    const gone = new AbortController();
    proc.once('close', () => gone.abort());
    try {
      await waitFor(
        async () => {
          const reply = await inline(port, ['PING']).catch(() => ''); // not up yet
          return reply.startsWith('+PONG') || reply.startsWith('-NOAUTH');
        },
        { timeoutMs: 10_000, intervalMs: 20, signal: gone.signal, message: `redis-server on port ${port} to answer PING` },
      );
    } catch (err) {
      if (gone.signal.aborted) throw new Error(`redis-server on port ${port} exited at start: ${stderr.trim()}`);
      throw err;
    }
  }

  async function stop(): Promise<void> {
    if (child) await stopProcess(child, 'SIGTERM', 3000);
  }

  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? null;
    },
    stop,
    start: () => {
      if (closed) return Promise.reject(new Error('redis process closed'));
      return start();
    },
    command: (...args: string[]) => inline(port, args, options.password),
    async close() {
      closed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function encode(args: string[]): string {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return parts.join('');
}

/** One RESP command over a fresh connection (after AUTH when a password is set); returns the raw reply text. */
function inline(port: number, args: string[], password?: string): Promise<string> {
  const authReply = '+OK\r\n';
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('redis command timed out'));
    }, 2000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      socket.write((password ? encode(['AUTH', password]) : '') + encode(args));
    });
    socket.on('data', (d) => {
      reply += d.toString();
      if (password && reply.startsWith(authReply)) {
        if (reply.length === authReply.length) return;
      }
      // Good enough for the short replies tests ask for: a reply ends with CRLF.
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(password && reply.startsWith(authReply) ? reply.slice(authReply.length) : reply);
      }
    });
  });
}
