// The page: a header with the connection state, and the view the hash route names.
import { useEffect, useMemo } from 'preact/hooks';
import type { VigilClient } from '@vigil/client';
import type { RestApi } from './api.js';
import { ConnectionBadge } from './connection-badge.js';
import { ServerDirectory } from './server-directory.js';
import { ServerPage } from './server-page.js';
import { ServersPage } from './servers-page.js';
import { serversHref, useHashRoute } from './router.js';

export function App({ client, api }: { client: VigilClient; api: RestApi }) {
  const route = useHashRoute();
  const directory = useMemo(() => new ServerDirectory(client, api), [client, api]);
  useEffect(() => {
    directory.start();
    return () => directory.stop();
  }, [directory]);

  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={serversHref} aria-label="vigil: all servers">
          <span class="brand-mark" aria-hidden="true" />
          vigil
        </a>
        <ConnectionBadge client={client} />
      </header>
      <main class="content">
        {route.name === 'server' ? (
          <ServerPage key={route.id} client={client} api={api} serverId={route.id} />
        ) : (
          <ServersPage directory={directory} />
        )}
      </main>
    </div>
  );
}
