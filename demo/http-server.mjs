// A mostly idle HTTP server on DEMO_HOST:DEMO_PORT (default 127.0.0.1, a free port): GET /ping
// answers `pong`, GET / says what it is. It prints its address, one line per request, and a
// count now and then.
import { createServer } from 'node:http';
import { envNumber, log, startDemo } from './common.mjs';

const NAME = 'http-server';
const host = process.env.DEMO_HOST || '127.0.0.1';
const port = envNumber('DEMO_PORT', 0);
let served = 0;

const server = createServer((req, res) => {
  served++;
  let status = 200;
  if (req.method === 'GET' && req.url === '/ping') {
    res.writeHead(status, { 'content-type': 'text/plain' }).end('pong\n');
  } else if (req.method === 'GET' && req.url === '/') {
    res.writeHead(status, { 'content-type': 'text/plain' }).end('vigil demo http-server: try GET /ping\n');
  } else {
    status = 404;
    res.writeHead(status, { 'content-type': 'text/plain' }).end('not found\n');
  }
  log(NAME, `${req.method} ${req.url.slice(0, 100)} ${status}`, status >= 400 ? 'warn' : undefined);
});

startDemo(NAME, {
  onStop: () => new Promise((resolve) => server.close(() => resolve())),
});
server.listen(port, host, () => {
  const address = server.address();
  log(NAME, `listening on http://${host}:${address.port}`);
});
setInterval(() => log(NAME, `served ${served} requests so far`), 30_000);
