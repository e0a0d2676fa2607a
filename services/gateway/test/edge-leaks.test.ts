// What the edge must not leak: a token pasted into a URL never reaches the log, and an upgrade to
// a path nothing serves is answered and closed instead of holding its socket open.
import t from 'tap';
import { connect } from 'node:net';
import { pino } from 'pino';
import { ErrorCodes } from '@vigil/protocol';
import { startRedis } from '@vigil/testkit';
import { startGateway } from './helpers.js';

const TOKENISH = 'eyJhbGciOiJIUzI1NiJ9.leaked-into-a-url.signature';

t.test('a token in a URL query is not written to the log (REST, /ws, unknown routes)', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const gw = await startGateway(redis.url, { logger });
  t.teardown(() => gw.close());
  for (const path of [`/api/servers?token=${TOKENISH}`, `/ws?access_token=${TOKENISH}`, `/nowhere?token=${TOKENISH}`]) {
    const res = await fetch(`${gw.url}${path}`);
    t.ok(res.status >= 400, `${path.split('?')[0]}: refused (${res.status})`);
  }
  t.ok(lines.some((l) => l.includes('/api/servers')), 'the request lines are there, with their paths');
  t.notOk(lines.some((l) => l.includes('leaked-into-a-url')), 'and no line carries the query');
});

t.test('an upgrade to a path nothing serves gets 404 in vigil shape and its socket closed', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const gw = await startGateway(redis.url);
  t.teardown(() => gw.close());
  for (const path of ['/ws/', '/anything']) {
    const socket = connect(gw.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    const timer = setTimeout(() => socket.destroy(new Error('still open after 20 s')), 20_000);
    await closed;
    clearTimeout(timer);
    const text = Buffer.concat(chunks).toString();
    t.match(text, /^HTTP\/1\.1 404/, `${path}: 404`);
    t.match(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), { error: { code: ErrorCodes.NOT_FOUND } }, `${path}: vigil's error shape`);
  }
});
