// Loopback TCP ports: is one free, the next free ones from a base, or any free one.
import { createServer } from 'node:net';

const HOST = '127.0.0.1';

function listenOn(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, HOST, () => {
      const address = server.address();
      server.close(() => resolve(address.port));
    });
  });
}

/** A port the kernel says is free right now. */
export async function anyFreePort() {
  const port = await listenOn(0);
  if (port === null) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** `count` free ports, the first at `base` or above, skipping any in `taken`. */
export async function freePortsFrom(base, count, taken = new Set()) {
  const out = [];
  for (let port = base; out.length < count; port++) {
    if (port > 65535) throw new Error(`no ${count} free ports at or above ${base}`);
    if (taken.has(port)) continue;
    if ((await listenOn(port)) !== null) out.push(port);
  }
  return out;
}
