// Hash routes, so the gateway serves one index.html and needs no fallback route:
// `#/` the servers, `#/servers/<id>` one server.
import { useEffect, useState } from 'preact/hooks';

export type Route = { name: 'servers' } | { name: 'server'; id: string } | { name: 'alerts' };

export function parseHash(hash: string): Route {
  if (/^#\/alerts\/?$/.test(hash)) return { name: 'alerts' };
  const match = /^#\/servers\/([^/?#]+)\/?$/.exec(hash);
  if (match) {
    try {
      return { name: 'server', id: decodeURIComponent(match[1]!) };
    } catch {
      // A malformed escape: fall through to the list.
    }
  }
  return { name: 'servers' };
}

export function serverHref(id: string): string {
  return `#/servers/${encodeURIComponent(id)}`;
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
