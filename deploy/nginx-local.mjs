// Renders deploy/nginx.local.conf.template for one machine (no containers), and says how to run
// it. Used by test/e2e/deploy.test.ts; scripts/ may use it to put a real load balancer in front
// of local gateways:
//
//   import { writeNginxLocal, nginxLocalCommand } from '../deploy/nginx-local.mjs';
//   const files = writeNginxLocal({ listenPort: 3000, gateways: [3001, 3002], prefix: dir });
//   const [bin, args] = nginxLocalCommand(files);   // nginx -c … -p … -e …
//   spawn(bin, args, { stdio: 'inherit' });         // foreground (`daemon off`); SIGQUIT/SIGTERM stop it
//
// Plain substitution of {{NAME}} placeholders; every placeholder must be filled, every value is
// checked so a stray character cannot inject nginx directives.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATE_PATH = fileURLToPath(new URL('./nginx.local.conf.template', import.meta.url));
export const PLACEHOLDERS = ['LISTEN_PORT', 'UPSTREAMS', 'PID_FILE', 'ERROR_LOG', 'ACCESS_LOG', 'TEMP_DIR'];

const SAFE_PATH = /^\/[A-Za-z0-9._\/-]+$/;

function port(value, what) {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${what}: expected a port 1..65535, got ${value}`);
  return value;
}

function path(value, what) {
  if (typeof value !== 'string' || !isAbsolute(value) || !SAFE_PATH.test(value)) {
    throw new Error(`${what}: expected an absolute path of [A-Za-z0-9._/-], got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * @param {object} o
 * @param {number} o.listenPort            port nginx listens on (127.0.0.1)
 * @param {Array<number | {host?: string, port: number}>} o.gateways  gateway ports (127.0.0.1) or {host, port}
 * @param {string} o.prefix                absolute directory for nginx's files (pid, logs, temp)
 * @param {string} [o.errorLog]            default <prefix>/error.log; 'stderr' allowed
 * @param {string | false} [o.accessLog]   default <prefix>/access.log; false turns it off
 * @param {number} [o.maxFails]            default 2
 * @param {number} [o.failTimeoutS]        default 10
 * @param {string} [o.template]            template text (default: the file next to this module)
 */
export function renderNginxLocal(o) {
  const prefix = path(o.prefix, 'prefix');
  const files = {
    config: join(prefix, 'nginx.conf'),
    prefix,
    pidFile: join(prefix, 'nginx.pid'),
    errorLog: o.errorLog === 'stderr' ? 'stderr' : path(o.errorLog ?? join(prefix, 'error.log'), 'errorLog'),
    accessLog: o.accessLog === false ? 'off' : path(o.accessLog ?? join(prefix, 'access.log'), 'accessLog'),
    tempDir: join(prefix, 'tmp'),
  };
  if (!Array.isArray(o.gateways) || o.gateways.length === 0) throw new Error('gateways: at least one is needed');
  const maxFails = o.maxFails ?? 2;
  const failTimeoutS = o.failTimeoutS ?? 10;
  const upstreams = o.gateways
    .map((g, i) => {
      const { host = '127.0.0.1', port: p } = typeof g === 'number' ? { port: g } : g;
      if (!/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`gateways[${i}].host: not a host name: ${JSON.stringify(host)}`);
      return `        server ${host}:${port(p, `gateways[${i}].port`)} max_fails=${maxFails} fail_timeout=${failTimeoutS}s;`;
    })
    .join('\n');
  const values = {
    LISTEN_PORT: String(port(o.listenPort, 'listenPort')),
    UPSTREAMS: upstreams,
    PID_FILE: files.pidFile,
    ERROR_LOG: files.errorLog,
    ACCESS_LOG: files.accessLog,
    TEMP_DIR: path(files.tempDir, 'tempDir'),
  };
  const template = o.template ?? readFileSync(TEMPLATE_PATH, 'utf8');
  const config = template.replace(/\{\{([A-Z_]+)\}\}/g, (m, name) => {
    if (!(name in values)) throw new Error(`template: unknown placeholder ${m}`);
    return values[name];
  });
  return { config, files };
}

/**
 * Renders and writes the config to <prefix>/nginx.conf and creates the temp directory. Started
 * as root (CI), nginx runs its workers as `nobody`, which must reach the temp directories: the
 * prefix and its tmp/ are made world-traversable (0755; nothing secret lives there).
 */
export function writeNginxLocal(o) {
  const { config, files } = renderNginxLocal(o);
  mkdirSync(files.tempDir, { recursive: true });
  chmodSync(files.prefix, 0o755);
  chmodSync(files.tempDir, 0o755);
  writeFileSync(files.config, config);
  return files;
}

/** The command that runs a rendered config in the foreground: [binary, args]. */
export function nginxLocalCommand(files, binary = 'nginx') {
  return [binary, ['-c', files.config, '-p', `${files.prefix}/`, '-e', files.errorLog]];
}
