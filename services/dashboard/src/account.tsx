// Who is signed in, in the header (the token's subject and what it allows, as the token says: the
// gateway is what enforces it), with sign-out; and the notice shown when the gateway warned that
// the sign-in expires and no new token has come.
import { useState } from 'preact/hooks';
import type { Access } from './access.js';
import { formatClock } from './format.js';
import { useObservable } from './observable.js';
import type { Identity } from './session.js';

function describeAccess(identity: Identity | null): string {
  if (!identity) return 'Signed in with a token this page cannot read; the gateway decides what it allows.';
  const servers = identity.servers.length === 0 ? 'no servers' : identity.servers.includes('*') ? 'all servers' : `servers ${identity.servers.join(', ')}`;
  const until = identity.expiresAt === null ? '' : `, until ${new Date(identity.expiresAt).toLocaleString()}`;
  return `Signed in as ${identity.subject}: ${servers}, ${identity.logs ? 'with' : 'without'} logs${until}.`;
}

export function AccountBar({ access }: { access: Access }) {
  useObservable(access.session);
  const state = access.session.state;
  if (state.name === 'anonymous') {
    return (
      <button type="button" class="button account-action" onClick={() => access.signOut()}>
        Sign in
      </button>
    );
  }
  if (state.name !== 'signed-in') return null;
  const identity = state.identity;
  return (
    <div class="account" data-testid="account" role="group" aria-label={describeAccess(identity)} title={describeAccess(identity)}>
      <span class="account-who">
        <span class="account-subject">{identity?.subject ?? 'signed in'}</span>
        {identity && (
          <span class="account-scope muted">
            {identity.servers.join(', ') || 'no servers'} · {identity.logs ? 'logs' : 'no logs'}
          </span>
        )}
      </span>
      <button type="button" class="button account-action" onClick={() => access.signOut()}>
        Sign out
      </button>
    </div>
  );
}

export function ExpiryNotice({ access }: { access: Access }) {
  useObservable(access.session);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const at = access.session.expiringAt;
  if (at === null) return null;
  const renew = async (e: Event) => {
    e.preventDefault();
    const failed = await access.signIn(text);
    setProblem(failed);
    if (!failed) setText('');
  };
  return (
    <form class="notice expiry" role="alert" data-testid="expiry-notice" onSubmit={(e) => void renew(e)}>
      <span>Your sign-in ends at {formatClock(at)}. Paste a new token to stay signed in.</span>
      <input type="password" aria-label="New access token" autocomplete="off" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="button">
        Renew
      </button>
      {problem && <span class="row-error">{problem}</span>}
    </form>
  );
}
