// The host sampler: exact figures from a procfs of the test's own (CPU and network deltas, memory,
// load, caps, a hung statfs), then the real /proc of this machine, checked against what the
// kernel and Node say.
import t, { type Test } from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { HOST_MAX_CORES, HOST_MAX_INTERFACES, HostMetrics, compile } from '@vigil/protocol';
import { HostSampler } from '../src/host-sampler.js';
import { tempDir } from './fixtures.js';

const checkMetrics = compile(HostMetrics);

type FakeProc = { dir: string; write(files: Partial<Record<'stat' | 'meminfo' | 'loadavg' | 'uptime' | 'net/dev', string>>): void };

function fakeProc(t: Test): FakeProc {
  const dir = tempDir(t, 'vigil-fake-proc-');
  mkdirSync(join(dir, 'net'));
  return {
    dir,
    write(files) {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    },
  };
}

/** `cpu` lines: user nice system idle iowait irq softirq steal guest guest_nice, as /proc/stat has them. */
const stat = (lines: number[][]) =>
  lines.map((f, i) => `${i === 0 ? 'cpu ' : `cpu${i - 1}`} ${f.join(' ')}`).join('\n') + '\nintr 1 2 3\nctxt 99\n';
const netDev = (rows: Array<[string, number, number]>) =>
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
  rows.map(([name, rx, tx]) => `${name.padStart(6)}: ${rx} 1 0 0 0 0 0 0 ${tx} 1 0 0 0 0 0 0`).join('\n') +
  '\n';
const meminfo = (kb: Record<string, number>) => Object.entries(kb).map(([k, v]) => `${k}: ${v} kB`).join('\n') + '\n';

t.test('figures from a procfs of its own: deltas, memory, load, network rates, mounts', async (t) => {
  const proc = fakeProc(t);
  let clock = 0;
  const statfsCalls: string[] = [];
  const sampler = new HostSampler({
    procDir: proc.dir,
    mounts: ['/', '/data', '/hung'],
    excludeInterfaces: ['lo'],
    monotonic: () => clock,
    statfsTimeoutMs: 100,
    statfs: (path) => {
      statfsCalls.push(path);
      if (path === '/hung') return new Promise(() => {}); // a hung network file system
      return Promise.resolve(path === '/' ? { blocks: 1000, bfree: 400, bavail: 300, bsize: 4096 } : { blocks: 10, bfree: 10, bavail: 10, bsize: 1024 });
    },
  });
  t.teardown(() => sampler.close());
  proc.write({
    stat: stat([
      [100, 0, 100, 800, 0, 0, 0, 0, 0, 0],
      [50, 0, 50, 400, 0, 0, 0, 0, 0, 0],
      [50, 0, 50, 400, 0, 0, 0, 0, 0, 0],
    ]),
    meminfo: meminfo({ MemTotal: 1000, MemFree: 100, MemAvailable: 600, Buffers: 10, Cached: 20, SwapTotal: 200, SwapFree: 150 }),
    loadavg: '0.50 1.25 2.00 3/400 12345\n',
    uptime: '100.00 150.00\n',
    'net/dev': netDev([
      ['lo', 999_999, 999_999],
      ['eth0', 10_000, 5_000],
    ]),
  });
  const first = await sampler.sample(Date.UTC(2026, 11, 1));
  t.ok(checkMetrics.check(first), checkMetrics.explain(first) ?? 'the sample matches the protocol schema');
  t.same(first.cpu, { total: 20, cores: [20, 20], count: 2 }, 'first sample: busy share since boot (200 of 1000 jiffies)');
  t.same(first.load, { one: 0.5, five: 1.25, fifteen: 2 });
  t.same(first.memory, { total: 1_024_000, available: 614_400, used: 409_600, swapTotal: 204_800, swapUsed: 51_200 }, 'kB turned into bytes; used = total − available');
  t.equal(first.uptime, 100);
  t.same(first.network, { rxBytesPerSec: 100, txBytesPerSec: 50, interfaces: [{ name: 'eth0', rxBytesPerSec: 100, txBytesPerSec: 50 }], count: 1 }, 'lo left out; since boot the rate is bytes ÷ uptime');
  t.same(
    first.mounts,
    [
      { path: '/', total: 4_096_000, used: 2_457_600, available: 1_228_800 },
      { path: '/data', total: 10_240, used: 0, available: 10_240 },
    ],
    'usage like df; a mount whose statfs hangs is left out of the sample',
  );
  t.same(statfsCalls, ['/', '/data', '/hung']);
  t.equal(first.timestamp, '2026-12-01T00:00:00.000Z');

  // 2 s later: core 0 was busy 3 of 4 jiffies, core 1 idle; iowait counts as idle.
  clock += 2000;
  proc.write({
    stat: stat([
      [103, 0, 100, 801, 4, 0, 0, 0, 0, 0],
      [53, 0, 50, 401, 0, 0, 0, 0, 0, 0],
      [50, 0, 50, 400, 4, 0, 0, 0, 0, 0],
    ]),
    'net/dev': netDev([
      ['lo', 1_999_999, 1_999_999],
      ['eth0', 14_000, 5_100],
      ['wlan0', 500, 500],
    ]),
  });
  const second = await sampler.sample();
  t.same(statfsCalls, ['/', '/data', '/hung', '/', '/data'], 'the hung mount is not asked again while its first statfs still holds a thread');
  t.same(second.mounts.map((m) => m.path), ['/', '/data'], 'and stays out of the sample');
  t.same(second.cpu, { total: 37.5, cores: [75, 0], count: 2 }, 'percent of the jiffies since the previous sample');
  t.same(second.network.interfaces, [
    { name: 'eth0', rxBytesPerSec: 2000, txBytesPerSec: 50 },
    { name: 'wlan0', rxBytesPerSec: 0, txBytesPerSec: 0 },
  ], 'rates over the 2 s between samples; an interface new since then has no rate yet');
  t.equal(second.network.rxBytesPerSec, 2000);

  // A counter that went backwards (interface reset) gives 0, never a negative rate.
  clock += 1000;
  proc.write({ 'net/dev': netDev([['eth0', 10, 10]]) });
  const third = await sampler.sample();
  t.same(third.network.interfaces, [{ name: 'eth0', rxBytesPerSec: 0, txBytesPerSec: 0 }]);
});

t.test('lists are capped; counts say how many there were', async (t) => {
  const proc = fakeProc(t);
  const cores = HOST_MAX_CORES + 3;
  const interfaces = HOST_MAX_INTERFACES + 5;
  proc.write({
    stat: stat(Array.from({ length: cores + 1 }, () => [1, 0, 1, 8, 0, 0, 0, 0, 0, 0])),
    meminfo: meminfo({ MemTotal: 1000, MemAvailable: 500 }),
    loadavg: '0 0 0 1/1 1\n',
    uptime: '10 10\n',
    'net/dev': netDev(Array.from({ length: interfaces }, (_, i) => [`veth${i}`, 10, 10] as [string, number, number])),
  });
  const sampler = new HostSampler({ procDir: proc.dir, mounts: [], excludeInterfaces: ['lo'] });
  t.teardown(() => sampler.close());
  const s = await sampler.sample();
  t.ok(checkMetrics.check(s), checkMetrics.explain(s) ?? 'still valid');
  t.equal(s.cpu.cores.length, HOST_MAX_CORES);
  t.equal(s.cpu.count, cores);
  t.equal(s.network.interfaces.length, HOST_MAX_INTERFACES);
  t.equal(s.network.count, interfaces);
  t.equal(s.network.rxBytesPerSec, interfaces, 'totals count every interface, listed or not');
});

t.test('no procfs: sample() fails, it does not make figures up', async (t) => {
  const sampler = new HostSampler({ procDir: join(tempDir(t), 'nothing'), mounts: [], excludeInterfaces: [] });
  await t.rejects(sampler.sample(), /ENOENT/);
  sampler.close();
});

t.test('the real /proc of this machine', async (t) => {
  const sampler = new HostSampler({ mounts: ['/'], excludeInterfaces: ['lo'] });
  t.teardown(() => sampler.close());
  await sampler.sample();
  const s = await sampler.sample();
  t.ok(checkMetrics.check(s), checkMetrics.explain(s) ?? 'valid');
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  t.equal(s.memory.total, memTotalKb * 1024, 'memory total is MemTotal');
  t.ok(s.memory.used > 0 && s.memory.used < s.memory.total, 'some memory is used, not all');
  t.equal(s.cpu.count, cpus().length, 'one entry per core, as os.cpus() counts them');
  t.ok(s.cpu.total >= 0 && s.cpu.total <= 100);
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  t.ok(Math.abs(s.uptime - uptime) < 5, `uptime ${s.uptime} is close to /proc/uptime ${uptime}`);
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[2]);
  t.ok(Math.abs(s.load.fifteen - load) < 0.5, `15-minute load ${s.load.fifteen} is close to /proc/loadavg ${load}`);
  t.notOk(s.network.interfaces.some((i) => i.name === 'lo'), 'lo is left out by default');
  t.equal(s.mounts.length, 1);
  t.ok(s.mounts[0]!.total > 0 && s.mounts[0]!.used <= s.mounts[0]!.total, 'the root file system has a size and a usage');
});
