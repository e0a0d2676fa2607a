// A small TCP load balancer for tests: each new connection goes to the next backend that accepts
// it (round robin, skipping dead ones), bytes are piped both ways. Killing a backend drops its
// connections, and clients reconnecting through the balancer land on a live one: what a real
// balancer does for a crashed gateway.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type TcpBalancer = {
  readonly port: number;
  readonly url: string;
  /** Connections currently open to each backend port. */
  connectionsTo(port: number): number;
  /** The backend port each accepted connection was piped to, in order (the last 10,000). */
  readonly routed: number[];
  setBackends(ports: number[]): void;
  close(): Promise<void>;
};

export async function startTcpBalancer(backends: number[]): Promise<TcpBalancer> {
  let ports = [...backends];
  let next = 0;
  const open = new Map<number, Set<Socket>>();
  const all = new Set<Socket>();
  const routed: number[] = [];

  const connectToLive = (client: Socket, attempt: number): void => {
    if (ports.length === 0 || attempt >= ports.length) {
      client.destroy();
      return;
    }
    const port = ports[next++ % ports.length]!;
    const upstream = createConnection({ port, host: '127.0.0.1' });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      routed.push(port);
      if (routed.length > 10_000) routed.shift();
      let set = open.get(port);
      if (!set) open.set(port, (set = new Set()));
      set.add(upstream);
      all.add(upstream);
      upstream.once('close', () => {
        set!.delete(upstream);
        all.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) connectToLive(client, attempt + 1);
      else client.destroy();
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    all.add(client);
    client.once('close', () => all.delete(client));
    client.on('error', () => client.destroy());
    connectToLive(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connectionsTo: (p) => open.get(p)?.size ?? 0,
    routed,
    setBackends(list) {
      ports = [...list];
    },
    async close() {
      for (const s of all) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
