// A private redis-server on a free loopback port, owned by the test that started it: it can be
// stopped, started again on the same port (a real outage), and is killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export type RedisProcess = {
  readonly port: number;
  readonly url: string;
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

export async function startRedis(options: { port?: number } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  let child: ChildProcess | null = null;
  let closed = false;

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(
      REDIS_BIN,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', () => {
      if (child === proc) child = null;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child !== proc) throw new Error(`redis-server on port ${port} exited at start: ${stderr.trim()}`);
      try {
        if ((await inline(port, 'PING')).startsWith('+PONG')) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: () => {
      if (closed) return Promise.reject(new Error('redis process closed'));
      return start();
    },
    command: (...args: string[]) => inline(port, ...args),
    async close() {
      closed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One RESP command over a fresh connection; returns the raw reply text. */
function inline(port: number, ...args: string[]): Promise<string> {
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
      const parts = [`*${args.length}\r\n`];
      for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
      socket.write(parts.join(''));
    });
    socket.on('data', (d) => {
      reply += d.toString();
      // Good enough for the short replies tests ask for: wait until the reply quiets down.
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
  });
}
