// Clients "from different machines" on one host. The balancer is sticky by client address
// (`hash $remote_addr consistent`, which Socket.IO long polling needs), so every client from
// 127.0.0.1 lands on one gateway. Linux routes all of 127.0.0.0/8 to the loopback interface: a
// client that binds its socket to 127.0.0.<k> comes from another address, and the balancer's
// /healthz (answered by the gateway it picked, with its id) tells which gateway that address
// is sticky to; a gateway's /metrics tells how many clients it holds.
import http from 'node:http';
import { canBind } from './ports.mjs';
import { httpGet } from './wait.mjs';

/** `vigil_gateway_connections` of a gateway's /metrics (its own metrics port), all transports together, or null when it does not answer with one. */
export async function gatewayConnections(metricsUrl) {
  const { status, body } = await httpGet(metricsUrl, 3000).catch(() => ({ status: 0, body: '' }));
  const counts = status === 200 ? [...String(body).matchAll(/^vigil_gateway_connections(?:\{[^}]*\})? (\d+)$/gm)].map((m) => Number(m[1])) : [];
  return counts.length > 0 ? counts.reduce((sum, n) => sum + n, 0) : null;
}

/** Can this host bind 127.0.0.2 (Linux: yes; macOS only after `ifconfig lo0 alias`)? */
export function canBindLoopbackAliases() {
  return canBind('127.0.0.2');
}

/** `count` loopback addresses from 127.0.0.<from> on (127.0.0.2 … 127.0.0.254, 127.0.1.1 …). */
export function loopbackAddresses(count, from = 2) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = from + i;
    out.push(`127.0.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`);
  }
  return out;
}

/** GET `url` from `localAddress`: `{ status, body }` (JSON when it is). */
export function httpGetFrom(url, localAddress, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* plain text */
        }
        resolve({ status: res.statusCode, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Which gateway the balancer at `lbUrl` sends each address to: Map gatewayId → [addresses].
 * Stops early once every id in `wanted` has `perGateway` addresses.
 */
export async function stickyAddresses(lbUrl, { wanted, perGateway = 1, candidates = loopbackAddresses(250) }) {
  const byGateway = new Map(wanted.map((id) => [id, []]));
  const full = () => wanted.every((id) => byGateway.get(id).length >= perGateway);
  for (const address of candidates) {
    if (full()) break;
    const { status, body } = await httpGetFrom(`${lbUrl}/healthz`, address);
    const id = status === 200 ? body?.gatewayId : undefined;
    const list = byGateway.get(id);
    if (list && list.length < perGateway) list.push(address);
  }
  return byGateway;
}

/** socket.io-client options that make its connections come from `localAddress`, for both transports. */
export function fromAddress(localAddress) {
  if (!localAddress) return {};
  // WebSocket: `ws` takes localAddress; long polling (Node XHR): the http.Agent's connections.
  return { localAddress, agent: new http.Agent({ localAddress, keepAlive: true }) };
}
