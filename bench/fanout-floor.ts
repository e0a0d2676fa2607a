// The floor under a fan-out delivery on this machine: what one write of a pre-encoded frame to a
// loopback TCP socket costs the writing process, with nothing else in it (no Redis, no Socket.IO, no
// JSON). The sender holds `sockets` connections to a reader process (same shape as the fan-out bench's
// gateway: 500 clients per gateway, a burst of `burst` writes to distinct sockets per collector tick)
// and writes `bytes`-byte frames at `writes` per second for `seconds`; its CPU (user and system, from
// /proc) ÷ writes is the figure. Run at several rates to separate the fixed cost from the per-write one.
//   node --import tsx bench/fanout-floor.ts [--sockets=500] [--burst=50] [--bytes=300] [--rates=5000,10000,15000] [--seconds=4]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const USER_HZ = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpu(pid: number): { user: number; sys: number; syscw: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { user: (Number(f[11]) * 1000) / USER_HZ, sys: (Number(f[12]) * 1000) / USER_HZ, syscw: Number(/^syscw:\s*(\d+)/m.exec(io)?.[1]) };
}

if (process.argv[2] === 'reader') {
  // The reader: accepts, reads, counts bytes (a client's minimum work).
  let bytes = 0;
  const server = createServer((s) => s.on('data', (b: Buffer) => (bytes += b.length)));
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'count') process.send!({ bytes });
    if (m.type === 'stop') process.exit(0);
  });
} else {
  const { values } = parseArgs({ options: { sockets: { type: 'string' }, burst: { type: 'string' }, bytes: { type: 'string' }, rates: { type: 'string' }, seconds: { type: 'string' }, mode: { type: 'string' } } });
  const n = Number(values.sockets ?? 500);
  const burst = Number(values.burst ?? 50);
  const size = Number(values.bytes ?? 300);
  const seconds = Number(values.seconds ?? 4);
  const rates = (values.rates ?? '5000,10000,15000').split(',').map(Number);
  const reader = fork(fileURLToPath(import.meta.url), ['reader'], { execArgv: ['--import', 'tsx'] });
  try {
    const port = await new Promise<number>((resolve) => reader.once('message', (m: { port: number }) => resolve(m.port)));
    const sockets: Socket[] = [];
    for (let i = 0; i < n; i++) {
      const s = createConnection({ host: '127.0.0.1', port, noDelay: true });
      await new Promise((r) => s.once('connect', r));
      sockets.push(s);
    }
    const frame = Buffer.alloc(size, 0x61);
    console.log(`sockets ${n}, burst ${burst}, ${size} B frames, ${seconds} s per rate`);
    for (const rate of rates) {
      const burstsPerSec = rate / burst;
      const total = Math.round(burstsPerSec * seconds);
      let next = 0;
      const c0 = cpu(process.pid);
      const t0 = performance.now();
      for (let b = 0; b < total; b++) {
        const due = t0 + (b * 1000) / burstsPerSec;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        for (let k = 0; k < burst; k++) sockets[next++ % n]!.write(frame);
        if (wait <= 1) await new Promise((r) => setImmediate(r));
      }
      const elapsed = performance.now() - t0;
      const c1 = cpu(process.pid);
      const writes = total * burst;
      const user = c1.user - c0.user;
      const sys = c1.sys - c0.sys;
      console.log(
        `${rate} writes/s asked, ${Math.round((writes * 1000) / elapsed)} done: ${(((user + sys) * 1000) / writes).toFixed(2)} us/write ` +
          `(user ${((user * 1000) / writes).toFixed(2)}, sys ${((sys * 1000) / writes).toFixed(2)}), ${((c1.syscw - c0.syscw) / writes).toFixed(2)} write calls/write, ${(((user + sys) / elapsed)).toFixed(2)} cores`,
      );
      await sleep(500);
    }
    for (const s of sockets) s.destroy();
  } finally {
    reader.send({ type: 'stop' });
  }
}
