import t from 'tap';
import { createServer, createConnection, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTcpBalancer, waitFor } from '../src/index.js';

async function echo(tag: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.on('data', () => s.write(tag)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write('?'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
    s.once('close', () => resolve('closed'));
  });
}

t.test('round robin over live backends; a dead backend is skipped', async (t) => {
  const a = await echo('A');
  const b = await echo('B');
  const lb = await startTcpBalancer([a.port, b.port]);
  t.teardown(async () => {
    await lb.close();
    b.server.close();
  });
  const answers = [await ask(lb.port), await ask(lb.port), await ask(lb.port), await ask(lb.port)];
  t.same([...answers].sort(), ['A', 'A', 'B', 'B'], 'connections alternate');
  await new Promise<void>((r) => a.server.close(() => r()));
  const after = [await ask(lb.port), await ask(lb.port), await ask(lb.port)];
  t.same(after, ['B', 'B', 'B'], 'with A gone every connection reaches B');
  await waitFor(() => lb.connectionsTo(b.port) === 0, { message: 'closed connections to be forgotten' });
});
