// The sign-in screen: shown when the gateway needs a token and has none it accepts (none given,
// refused, expired) or after signing out. A pasted token is kept in this tab's sessionStorage.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Access } from './access.js';
import { useTitle } from './hooks.js';

export function SignInPage({ access, reason }: { access: Access; reason: string | null }) {
  useTitle('Sign in · vigil');
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const failed = await access.signIn(text);
    setBusy(false);
    setProblem(failed);
  };

  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1} ref={heading}>
        Sign in to vigil
      </h1>
      {reason !== null ? (
        <p class="alert" role="alert" data-testid="sign-in-reason">
          {reason}
        </p>
      ) : (
        <p class="muted" role="status" data-testid="sign-in-reason">
          You are signed out.
        </p>
      )}
      <form class="sign-in-form" onSubmit={(e) => void submit(e)}>
        <label class="field" for="token-input">
          <span>Access token</span>
        </label>
        <textarea
          id="token-input"
          name="token"
          rows={4}
          autocomplete="off"
          spellcheck={false}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          placeholder="eyJhbGciOi…"
        />
        {problem && (
          <p class="alert" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="muted hint">
        The token stays in this tab only. A link ending in <code>#token=…</code> signs in too; the token is removed from the address
        bar at once.
      </p>
    </section>
  );
}
