// A private redis-server on a free loopback port, owned by the test that started it: it can be
// stopped, started again on the same port (a real outage), and is killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../scripts/lib/ports.mjs';
import { waitFor } from '../../../scripts/lib/wait.mjs';
import { stopProcess } from './process.js';

export type StartRedisOptions = {
  /** Default: a free port. With `tls`, the TLS port (plain TCP is then off). */
  port?: number;
  /** AUTH for `command()` and the URL: the password, and the ACL user when not `default`. */
  password?: string;
  user?: string;
  /** Extra redis-server arguments, after vigil's own (e.g. `['--aclfile', path]`). */
  args?: string[];
  /**
   * Serve TLS only, with these PEM files; `authClients` requires a client certificate. The
   * harness's own connections (readiness, `command()`) present `clientCertFile`/`clientKeyFile`,
   * by default the server's pair.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; authClients?: boolean; clientCertFile?: string; clientKeyFile?: string };
};

export type RedisProcess = {
  readonly port: number;
  readonly url: string;
  /** The pid of the running redis-server (for reading its CPU from /proc); null while stopped. */
  readonly pid: number | null;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL: no shutdown work, as a crashed host) and waits for it to exit. */
  kill(): Promise<void>;
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

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort());
  const { tls } = options;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', tls.authClients ? 'yes' : 'no']
    : ['--port', String(port)];
  // The harness's own connections present a pair the CA signed, so they get in whether or not
  // client certificates are required; read once, not at every readiness poll.
  const pems = tls && {
    ca: readFileSync(tls.caFile),
    cert: readFileSync(tls.clientCertFile ?? tls.certFile),
    key: readFileSync(tls.clientKeyFile ?? tls.keyFile),
  };
  const send = (args: string[]) => inline(port, args, { password: options.password, user: options.user, tls: pems });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
  let child: ChildProcess | null = null;
  let closed = false;

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(
      REDIS_BIN,
      [
        ...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
        ...(options.password && !options.user ? ['--requirepass', options.password] : []),
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    installReaper();
    live.add(proc);
    // Its log (stdout) says why it refused to start, e.g. a bad ACL file; keep the end of it.
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
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
          const reply = await inline(port, ['PING'], { tls: pems }).catch(() => ''); // not up yet
          return reply.startsWith('+PONG') || reply.startsWith('-NOAUTH');
        },
        { timeoutMs: 10_000, intervalMs: 20, signal: gone.signal, message: `redis-server on port ${port} to answer PING` },
      );
    } catch (err) {
      if (gone.signal.aborted) throw new Error(`redis-server on port ${port} exited at start: ${output.trim()}`);
      throw err;
    }
  }

  async function stop(): Promise<void> {
    if (child) await stopProcess(child, 'SIGTERM', 3000);
  }

  try {
    await start();
  } catch (err) {
    // Nobody gets a handle to close it: do not leave it running.
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const user = options.user ? encodeURIComponent(options.user) : '';
  const auth = options.password ? `${user}:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? null;
    },
    stop,
    kill: async () => {
      if (child) await stopProcess(child, 'SIGKILL', 3000);
    },
    start: () => {
      if (closed) return Promise.reject(new Error('redis process closed'));
      return start();
    },
    command: (...args: string[]) => send(args),
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

type InlineOptions = { password?: string | undefined; user?: string | undefined; tls?: { ca: Buffer; cert: Buffer; key: Buffer } | undefined };

/** One RESP command over a fresh connection (after AUTH when a password is set); returns the raw reply text. */
function inline(port: number, args: string[], o: InlineOptions = {}): Promise<string> {
  const authReply = '+OK\r\n';
  const { password, user, tls } = o;
  return new Promise((resolve, reject) => {
    const socket = tls
      ? tlsConnect({ port, host: '127.0.0.1', ...tls, checkServerIdentity: () => undefined })
      : createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('redis command timed out'));
    }, 2000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      const auth = password ? encode(user ? ['AUTH', user, password] : ['AUTH', password]) : '';
      socket.write(auth + encode(args));
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
