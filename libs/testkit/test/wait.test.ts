import t from 'tap';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { eventually, freePort, once, waitFor } from '../src/index.js';
import { Aborted } from '../../../scripts/lib/wait.mjs';
import { freePortsFrom } from '../../../scripts/lib/ports.mjs';

t.test('waitFor returns the first truthy value, and names what it waited for at the deadline', async (t) => {
  let calls = 0;
  t.equal(await waitFor(() => (++calls >= 3 ? 'ready' : null), { intervalMs: 1 }), 'ready');
  await t.rejects(waitFor(() => false, { timeoutMs: 50, message: 'the moon' }), /timed out after 50 ms waiting for the moon/);
  await t.rejects(
    waitFor(() => { throw new Error('boom'); }, { timeoutMs: 30 }),
    /last error: boom/,
    'the last error is part of the message',
  );
});

t.test('a signal cuts waitFor short', async (t) => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stop')), 20);
  await t.rejects(waitFor(() => false, { timeoutMs: 5000, signal: controller.signal }), Aborted);
});

t.test('eventually retries until the assertion holds; once waits for an event', async (t) => {
  let n = 0;
  await eventually(() => {
    if (++n < 3) throw new Error('not yet');
  });
  t.equal(n, 3);
  const emitter = new EventEmitter();
  setTimeout(() => emitter.emit('hello', 42), 5);
  t.equal(await once<number>(emitter, 'hello'), 42);
  await t.rejects(once(emitter, 'never', 20), /waiting for event "never"/);
  t.equal(emitter.listenerCount('never'), 0, 'a timed-out wait leaves no listener');
});

t.test('free ports can be bound; a taken one is skipped', async (t) => {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const [next] = await freePortsFrom(port, 1);
  t.ok(next! > port, 'the port in use is skipped');
});
