// Loopback TCP ports, asked of the kernel rather than guessed: any free one, or the next free
// ones from a base. The one implementation, in plain JS so that `npm start` runs it with plain
// node; @vigil/testkit re-exports it with the types of ports.d.mts.
import { createServer } from 'node:net';

const HOST = '127.0.0.1';

/** Listens on `port` (0: any) and closes again: the port it got, or null if it could not bind. */
function listenOn(port, host) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() => resolve(address.port));
    });
  });
}

/** A port the kernel says is free on `host` right now. */
export async function freePort(host = HOST) {
  const port = await listenOn(0, host);
  if (port === null) throw new Error(`no free port on ${host}`);
  return port;
}

/** `count` free ports on 127.0.0.1, the first at `base` or above, skipping any in `taken`. */
export async function freePortsFrom(base, count, taken = new Set()) {
  const out = [];
  for (let port = base; out.length < count; port++) {
    if (port > 65535) throw new Error(`no ${count} free ports at or above ${base}`);
    if (taken.has(port)) continue;
    if ((await listenOn(port, HOST)) !== null) out.push(port);
  }
  return out;
}

/** Can this host bind `host` at all (e.g. 127.0.0.2: Linux yes, macOS only after `ifconfig lo0 alias`)? */
export async function canBind(host) {
  return (await listenOn(0, host)) !== null;
}
