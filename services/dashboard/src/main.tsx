// Entry: a token handed over in the address (`#token=…`) is taken out of it before anything else;
// then one client for the page, connected to the origin that served it (a gateway, or the
// balancer in front of the gateways) with the session's token, and the app rendered into #app.
import { render } from 'preact';
import { createVigilClient } from '@vigil/client';
import { Access } from './access.js';
import { RestApi } from './api.js';
import { App } from './app.js';
import { Session, takeFragmentToken } from './session.js';
import './styles.css';

const handedOver = takeFragmentToken();
const session = new Session(sessionStorage);
if (handedOver !== null) session.signIn(handedOver);

const client = createVigilClient({ url: location.origin, token: session.provider });
const access = new Access(session, client);
const api = new RestApi(location.origin, { token: () => session.token, refused: (code, message) => access.refused(code, message) });
access.start();
// A `#token=` link opened in this tab later signs in with that token.
addEventListener('hashchange', () => {
  const token = takeFragmentToken();
  if (token !== null) void access.signIn(token);
});

render(<App client={client} api={api} access={access} />, document.getElementById('app')!);
