// The connection state, always in view and announced politely: connected, connecting,
// reconnecting (attempt N), offline, not signed in. The client library recovers by itself (a
// refused token waits for a new one, see access.ts); this only tells.
import { useEffect, useState } from 'preact/hooks';
import type { ConnectionState, VigilClient } from '@vigil/client';

export function describeState(state: ConnectionState): { label: string; detail: string } {
  switch (state.name) {
    case 'connected':
      return { label: 'Connected', detail: 'Receiving live updates.' };
    case 'connecting':
      return { label: 'Connecting…', detail: 'Opening the connection to the gateway.' };
    case 'reconnecting':
      return { label: `Reconnecting (attempt ${state.attempt})`, detail: `Connection lost (${state.reason}); trying again.` };
    case 'offline':
      return {
        label: 'Offline',
        detail:
          state.reason === 'network'
            ? 'This device is offline; reconnecting when the network is back.'
            : state.reason === 'gave-up'
              ? 'Gave up reconnecting; reload the page to try again.'
              : state.reason === 'refused'
                ? 'The gateway does not accept connections from this page’s address.'
                : 'The connection is closed.',
      };
    case 'unauthorized':
      return { label: 'Not signed in', detail: state.message };
  }
}

export function useConnectionState(client: VigilClient): ConnectionState {
  const [state, setState] = useState(client.state);
  useEffect(() => {
    setState(client.state);
    return client.on('state', setState);
  }, [client]);
  return state;
}

export function ConnectionBadge({ client }: { client: VigilClient }) {
  const state = useConnectionState(client);
  const { label, detail } = describeState(state);
  return (
    <div class="connection" data-state={state.name} role="status" aria-live="polite" aria-atomic="true" title={detail}>
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-label">{label}</span>
    </div>
  );
}
