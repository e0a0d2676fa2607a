import t from 'tap';
import { startRedis } from '../src/index.js';

t.test('a private redis-server answers, stops, and starts again on the same port', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  t.match(await redis.command('PING'), /^\+PONG/);
  const firstPid = redis.pid;
  t.ok(firstPid !== null && firstPid > 0, `pid of the running server (${firstPid})`);
  t.match(await redis.command('SET', 'k', 'v'), /^\+OK/);
  await redis.stop();
  t.equal(redis.pid, null, 'no pid while stopped');
  await t.rejects(redis.command('PING'), 'nothing answers while stopped');
  await redis.start();
  t.match(await redis.command('PING'), /^\+PONG/);
  t.ok(redis.pid !== null && redis.pid !== firstPid, 'a new pid after start');
  t.match(await redis.command('GET', 'k'), /^\$-1/, 'a restarted server keeps nothing');
});

t.test('a test process that is terminated takes its redis-servers with it', async (t) => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = `import { startRedis } from ${JSON.stringify(entry)}; const r = await startRedis(); console.log(r.port); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  t.ok(port > 0, 'the child started a redis-server');
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
  const { createConnection } = await import('node:net');
  const { waitFor } = await import('../src/index.js');
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = createConnection({ port, host: '127.0.0.1' });
        s.on('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(true));
      }),
    { timeoutMs: 5000, message: 'the orphan redis-server to be gone' },
  );
  t.pass('nothing listens on its port any more');
});

t.test('extra arguments reach redis-server; a refused start says why and leaves nothing behind', async (t) => {
  const redis = await startRedis({ args: ['--maxmemory', '12345678'] });
  t.teardown(() => redis.close());
  t.match(await redis.command('CONFIG', 'GET', 'maxmemory'), /12345678/);
  const { freePort } = await import('../src/index.js');
  const port = await freePort();
  await t.rejects(startRedis({ port, args: ['--aclfile', '/nonexistent/vigil.acl'] }), /exited at start: .*vigil\.acl/s, 'its own complaint is in the error');
  const { createConnection } = await import('node:net');
  const refused = await new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
  t.ok(refused, 'nothing listens on its port');
});
