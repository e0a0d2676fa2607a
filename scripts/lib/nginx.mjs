// The load balancer of a local run: nginx, from deploy/nginx.local.conf.template rendered by
// deploy/nginx-local.mjs, in the foreground (`daemon off`) so the supervisor owns it like any
// other child. Its error log is its output (<runDir>/nginx.log), its access log
// <runDir>/nginx-access.log; pid and temp files live in a private prefix.
import { accessSync, chmodSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { nginxLocalCommand, writeNginxLocal } from '../../deploy/nginx-local.mjs';
import { httpGet } from './wait.mjs';

export const NGINX_INSTALL_HINT = [
  'nginx is the load balancer of `npm start` (and of the end-to-end tests), and no nginx was found',
  '(neither VIGIL_NGINX, nor nginx on the PATH, nor /usr/sbin/nginx).',
  'Install it, then run again:',
  '  Debian/Ubuntu:  sudo apt-get install -y nginx        (or nginx-light)',
  '  Fedora/RHEL:    sudo dnf install -y nginx',
  '  Alpine:         sudo apk add nginx',
  '  macOS:          brew install nginx',
  'or point VIGIL_NGINX at an nginx binary. It needs no root and listens on loopback only; no',
  'system service is needed (`systemctl disable --now nginx` if the package started one).',
].join('\n');

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The nginx binary: VIGIL_NGINX, else `nginx` on the PATH, else the usual sbin directories; null if none. */
export function findNginx(env = process.env) {
  if (env.VIGIL_NGINX) return isExecutable(env.VIGIL_NGINX) ? env.VIGIL_NGINX : null;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin', '/opt/homebrew/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nginx');
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * @param o.binary     the nginx binary (findNginx())
 * @param o.port       port it listens on (127.0.0.1)
 * @param o.gateways   [{ id, port, url }] behind it
 * @param o.tmpDir     private temp dir of the run (the prefix goes inside)
 * @param o.runDir     the run directory (access log)
 */
export function nginxSpec({ binary, port, gateways, tmpDir, runDir }) {
  const url = `http://127.0.0.1:${port}`;
  const prefix = join(tmpDir, 'nginx');
  let files;
  return {
    name: 'nginx',
    role: 'balancer',
    what: `nginx load balancer on ${url} → ${gateways.map((g) => g.id).join(', ')} (sticky by client address)`,
    command: binary,
    get args() {
      return nginxLocalCommand(files, binary)[1];
    },
    prepare: () => {
      // Started as root, nginx runs its workers as `nobody`: they must reach <tmpDir>/nginx/tmp.
      chmodSync(tmpDir, 0o711);
      const base = { listenPort: port, gateways: gateways.map((g) => g.port), prefix, errorLog: 'stderr' };
      try {
        files = writeNginxLocal({ ...base, accessLog: join(runDir, 'nginx-access.log') });
      } catch {
        files = writeNginxLocal(base); // a run dir path nginx-local will not write into a config
      }
    },
    missingHint: NGINX_INSTALL_HINT,
    // Ready when it passes a request through to a gateway.
    ready: async () => {
      const { status, body } = await httpGet(`${url}/healthz`);
      if (status !== 200) throw new Error(`${url}/healthz answers ${status}`);
      return gateways.some((g) => g.id === body?.gatewayId);
    },
    readyTimeoutMs: 10_000,
    stopTimeoutMs: 5000,
  };
}
