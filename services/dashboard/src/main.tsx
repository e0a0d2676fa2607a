// Entry: one client for the page, connected to the origin that served it (a gateway, or the
// balancer in front of the gateways), and the app rendered into #app.
import { render } from 'preact';
import { createVigilClient } from '@vigil/client';
import { RestApi } from './api.js';
import { App } from './app.js';
import './styles.css';

const client = createVigilClient({ url: location.origin });
const api = new RestApi(location.origin);

render(<App client={client} api={api} />, document.getElementById('app')!);
