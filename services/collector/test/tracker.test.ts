// Tracking rules on hand-made observations: identity is (pid, start), never a bare pid.
import t from 'tap';
import type { Target } from '../src/config-schema.js';
import type { Observation } from '../src/sampler.js';
import type { Resolution } from '../src/source.js';
import { PIDFILE_CLOCK_SLACK_MS } from '../src/tracker-identity.js';
import { createTracker } from '../src/trackers.js';

const T0 = 1_800_000_000_000;

function obs(pid: number, startKey: number): Observation {
  return { pid, key: `${pid}@${startKey}`, startKey, cpu: 1, rss: 1000, elapsedMs: 60_000 - startKey, at: T0, startedAt: T0 - 60_000 + startKey };
}

function seen(...os: Observation[]): Map<number, Observation> {
  return new Map(os.map((o) => [o.pid, o]));
}

const res = (pids: number[], extra: Partial<Resolution> = {}): Resolution => ({ pids, ...extra });

function changes(r: ReturnType<ReturnType<typeof createTracker>['observe']>) {
  return r.reports.filter((x) => x.change).map((x) => ({ serverId: x.server.serverId, ...x.change }));
}

t.test('pid target: the first identity is the process; a reused pid is not it', async (t) => {
  const tr = createTracker({ kind: 'pid', id: 'api', intervalMs: 1000, pid: 10 } satisfies Target);
  let r = tr.observe(res([10]), seen(obs(10, 100)));
  t.same(changes(r), [{ serverId: 'api', status: 'running', pid: 10 }]);
  t.equal(r.reports[0]!.sample?.key, '10@100');
  r = tr.observe(res([10]), seen(obs(10, 100)));
  t.same(changes(r), [], 'no change while the same process lives');
  t.ok(r.reports[0]!.sample);
  r = tr.observe(res([10]), seen());
  t.match(changes(r), [{ status: 'exited', pid: 10 }]);
  r = tr.observe(res([10]), seen(obs(10, 5000)));
  t.same(changes(r), [], 'a new process on the same pid changes nothing');
  t.equal(r.reports[0]!.sample, null, 'and is never sampled as this server');
  t.equal(r.reports[0]!.server.status, 'exited');
});

t.test('pid target: reuse seen without an exit in between is an exit', async (t) => {
  const tr = createTracker({ kind: 'pid', id: 'api', intervalMs: 1000, pid: 10 });
  tr.observe(res([10]), seen(obs(10, 100)));
  const r = tr.observe(res([10]), seen(obs(10, 900)));
  t.match(changes(r), [{ status: 'exited', reason: /another process/ }]);
  t.equal(r.reports[0]!.sample, null);
});

t.test('pid target never found: reported exited once', async (t) => {
  const tr = createTracker({ kind: 'pid', id: 'api', intervalMs: 1000, pid: 10 });
  t.match(changes(tr.observe(res([10]), seen())), [{ status: 'exited', pid: 10, reason: /not found/ }]);
  t.same(changes(tr.observe(res([10]), seen())), []);
});

t.test('pidfile: new identity is a restart; stale pidfile naming a reused pid is an exit', async (t) => {
  const tr = createTracker({ kind: 'pidfile', id: 'w', intervalMs: 1000, pidfile: '/x' });
  const a = obs(10, 100);
  let r = tr.observe(res([10], { pidfileMtimeMs: a.startedAt + 50 }), seen(a));
  t.same(changes(r), [{ serverId: 'w', status: 'running', pid: 10 }], 'first sighting');
  const b = obs(20, 2000);
  r = tr.observe(res([20], { pidfileMtimeMs: b.startedAt + 50 }), seen(b));
  t.same(changes(r), [{ serverId: 'w', status: 'restarted', pid: 20, previousPid: 10 }], 'file names a new process');
  t.equal(r.reports[0]!.server.restarts, 1);
  // b dies; its pid is taken by an unrelated process long after the file was written.
  const reuse = obs(20, 9000);
  r = tr.observe(res([20], { pidfileMtimeMs: b.startedAt + 50 }), seen(reuse));
  t.match(changes(r), [{ status: 'exited', reason: /stale/ }], 'stale pidfile + reused pid: exited, not restarted');
  t.equal(r.reports[0]!.sample, null);
  r = tr.observe(res([], { unresolved: 'pidfile /x unreadable: ENOENT' }), seen());
  t.same(changes(r), [], 'already exited');
  const c = obs(30, 12_000);
  r = tr.observe(res([30], { pidfileMtimeMs: c.startedAt + 10 }), seen(c));
  t.same(changes(r), [{ serverId: 'w', status: 'restarted', pid: 30, previousPid: 20 }], 'a fresh pidfile after an exit');
});

t.test('pidfile: mtime within the clock slack of the start is not stale', async (t) => {
  const tr = createTracker({ kind: 'pidfile', id: 'w', intervalMs: 1000, pidfile: '/x' });
  const a = obs(10, 100);
  const r = tr.observe(res([10], { pidfileMtimeMs: a.startedAt - PIDFILE_CLOCK_SLACK_MS + 1 }), seen(a));
  t.match(changes(r), [{ status: 'running' }]);
});

t.test('pidfile missing at first: exited with the reason, then running', async (t) => {
  const tr = createTracker({ kind: 'pidfile', id: 'w', intervalMs: 1000, pidfile: '/x' });
  t.match(changes(tr.observe(res([], { unresolved: 'pidfile /x unreadable: ENOENT' }), seen())), [{ status: 'exited', pid: null, reason: /ENOENT/ }]);
  const a = obs(10, 100);
  t.match(changes(tr.observe(res([10], { pidfileMtimeMs: a.startedAt }), seen(a))), [{ status: 'running', pid: 10 }]);
});

t.test('match: stable slots, lowest free slot refilled as restarted, bounded by maxInstances', async (t) => {
  const tr = createTracker({ kind: 'match', id: 'web', intervalMs: 1000, match: /x/, maxInstances: 3 });
  const [a, b, c] = [obs(11, 100), obs(12, 200), obs(13, 300)];
  let r = tr.observe(res([13, 11, 12]), seen(a, b, c));
  t.same(
    changes(r),
    [
      { serverId: 'web', status: 'running', pid: 11 },
      { serverId: 'web.2', status: 'running', pid: 12 },
      { serverId: 'web.3', status: 'running', pid: 13 },
    ],
    'slots follow start order',
  );
  t.equal(r.reports.filter((x) => x.sample).length, 3, 'every match is sampled');
  r = tr.observe(res([11, 13]), seen(a, c));
  t.match(changes(r), [{ serverId: 'web.2', status: 'exited', pid: 12 }]);
  t.equal(r.reports.length, 3, 'the exited slot is still reported (registry, heartbeat)');
  const d = obs(14, 900);
  const e = obs(15, 950);
  r = tr.observe(res([11, 13, 14, 15]), seen(a, c, d, e));
  t.same(changes(r), [{ serverId: 'web.2', status: 'restarted', pid: 14, previousPid: 12 }], 'the lowest free slot is refilled');
  t.equal(r.extra, 1, 'a fourth process is counted, not reported');
  r = tr.observe(res([11, 14]), seen(a, d));
  t.match(changes(r), [{ serverId: 'web.3', status: 'exited' }]);
  r = tr.observe(res([11, 14, 15]), seen(a, d, e));
  t.same(changes(r), [{ serverId: 'web.3', status: 'restarted', pid: 15, previousPid: 13 }]);
  t.equal(r.extra, 0);
});

t.test('match: nothing matching reports the first slot exited; a later match is running', async (t) => {
  const tr = createTracker({ kind: 'match', id: 'web', intervalMs: 1000, match: /x/, maxInstances: 16 });
  t.match(changes(tr.observe(res([]), seen())), [{ serverId: 'web', status: 'exited', reason: /no process matches/ }]);
  t.same(changes(tr.observe(res([11]), seen(obs(11, 5)))), [{ serverId: 'web', status: 'running', pid: 11 }]);
});

t.test('match: a slot emptied and refilled in one tick reports only the restart', async (t) => {
  const tr = createTracker({ kind: 'match', id: 'web', intervalMs: 1000, match: /x/, maxInstances: 16 });
  tr.observe(res([11]), seen(obs(11, 5)));
  t.same(changes(tr.observe(res([11]), seen(obs(11, 700)))), [{ serverId: 'web', status: 'restarted', pid: 11, previousPid: 11 }]);
});
