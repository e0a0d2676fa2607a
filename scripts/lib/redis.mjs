// Redis for a local run: is one answering at a URL (a raw PING, no client library), and the
// spec of a private redis-server when none is.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export const REDIS_BIN = process.env.VIGIL_REDIS_SERVER || 'redis-server';

function command(...args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Sends PING (after AUTH when the URL carries a password) over a fresh connection.
 * Resolves `{ ok: true }` on +PONG, `{ ok: false, why }` otherwise; never rejects.
 */
export function redisPing(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      return resolve({ ok: false, why: 'not a URL' });
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return resolve({ ok: false, why: `unsupported scheme ${parsed.protocol}` });
    const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const port = Number(parsed.port || 6379);
    const options = { host, port, servername: parsed.hostname };
    const socket = parsed.protocol === 'rediss:' ? tlsConnect(options) : tcpConnect(options);
    const finish = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, why: `no answer within ${timeoutMs} ms` }), timeoutMs);
    let reply = '';
    socket.on('error', (err) => finish({ ok: false, why: err.code ?? err.message }));
    socket.once(parsed.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      const password = decodeURIComponent(parsed.password);
      const user = decodeURIComponent(parsed.username);
      const auth = password ? (user ? command('AUTH', user, password) : command('AUTH', password)) : '';
      socket.write(`${auth}${command('PING')}`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n').filter(Boolean);
      if (lines.some((l) => l.startsWith('-'))) return finish({ ok: false, why: lines.find((l) => l.startsWith('-')).slice(1) });
      if (lines.includes('+PONG')) finish({ ok: true });
    });
  });
}

/** A private, throw-away redis-server on `port`, its files in `dir`. */
export function redisSpec({ port, dir }) {
  const url = `redis://127.0.0.1:${port}`;
  return {
    name: 'redis',
    what: `private redis-server ${url}`,
    command: REDIS_BIN,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    missingHint: 'install redis-server 7+ (Debian: apt-get install redis-server), or set REDIS_URL to a running Redis 7+',
    ready: async () => (await redisPing(url)).ok,
    readyTimeoutMs: 10_000,
    stopTimeoutMs: 5000,
  };
}
