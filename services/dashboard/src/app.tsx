// The page: the sign-in screen while signed out; otherwise a header with who is signed in and the
// connection state, and the view the hash route names.
import { useEffect, useMemo } from 'preact/hooks';
import type { VigilClient } from '@vigil/client';
import type { Access } from './access.js';
import { AccountBar, ExpiryNotice } from './account.js';
import type { RestApi } from './api.js';
import { ConnectionBadge } from './connection-badge.js';
import { useObservable } from './observable.js';
import { FleetDirectory } from './fleet-directory.js';
import { HostPage } from './host-page.js';
import { ServerPage } from './server-page.js';
import { ServersPage } from './servers-page.js';
import { serversHref, useHashRoute } from './router.js';
import { SignInPage } from './sign-in-page.js';
import { AlertFeed } from './alert-feed.js';
import { AlertsBadge } from './alerts-badge.js';
import { AlertsPage } from './alerts-page.js';

type Props = { client: VigilClient; api: RestApi; access: Access };

export function App({ client, api, access }: Props) {
  useObservable(access.session);
  const state = access.session.state;
  const signedIn = state.name !== 'signed-out';
  // One feed per signed-in stretch: signing out ends its subscriptions.
  const feed = useMemo(() => (signedIn ? new AlertFeed(client, api) : null), [client, api, signedIn]);
  useEffect(() => {
    feed?.start();
    return () => feed?.stop();
  }, [feed]);
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={serversHref} aria-label="vigil: all servers">
          <span class="brand-mark" aria-hidden="true" />
          vigil
        </a>
        <div class="topbar-end">
          {feed && <AlertsBadge feed={feed} />}
          <AccountBar access={access} />
          {state.name !== 'signed-out' && <ConnectionBadge client={client} />}
        </div>
      </header>
      <main class="content">
        {state.name === 'signed-out' ? <SignInPage access={access} reason={state.reason} /> : <Views client={client} api={api} access={access} feed={feed!} />}
      </main>
    </div>
  );
}

/** Mounted while signed in (or while no sign-in is needed): unmounting ends every subscription. */
function Views({ client, api, access, feed }: Props & { feed: AlertFeed }) {
  const route = useHashRoute();
  // Kept across views (its filter, sort and trends); subscribed only while the list is shown.
  const directory = useMemo(() => new FleetDirectory(client), [client]);
  return (
    <>
      <ExpiryNotice access={access} />
      {route.name === 'server' ? (
        <ServerPage key={route.id} client={client} api={api} serverId={route.id} feed={feed} />
      ) : route.name === 'host' ? (
        <HostPage key={route.host} client={client} api={api} host={route.host} />
      ) : route.name === 'alerts' ? (
        <AlertsPage feed={feed} />
      ) : (
        <ServersPage directory={directory} feed={feed} />
      )}
    </>
  );
}
