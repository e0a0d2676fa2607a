// Hash routes, so the gateway serves one index.html and needs no fallback route:
// `#/` the servers, `#/servers/<id>` one server, `#/hosts/<host>` one host's metrics, `#/alerts` the alerts.
import { useEffect, useState } from 'preact/hooks';

export type Route = { name: 'servers' } | { name: 'server'; id: string } | { name: 'host'; host: string } | { name: 'alerts' };

export function parseHash(hash: string): Route {
  if (/^#\/alerts\/?$/.test(hash)) return { name: 'alerts' };
  const match = /^#\/(servers|hosts)\/([^/?#]+)\/?$/.exec(hash);
  if (match) {
    try {
      const name = decodeURIComponent(match[2]!);
      return match[1] === 'hosts' ? { name: 'host', host: name } : { name: 'server', id: name };
    } catch {
      // A malformed escape: fall through to the list.
    }
  }
  return { name: 'servers' };
}

export function serverHref(id: string): string {
  return `#/servers/${encodeURIComponent(id)}`;
}

export function hostHref(host: string): string {
  return `#/hosts/${encodeURIComponent(host)}`;
}

export const serversHref = '#/';

export const alertsHref = '#/alerts';

export function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
