// The cluster suite's scenarios that more than one suite runs (cluster.test.ts on an idle
// machine, cluster-starved.test.ts with both cores kept busy): the clients each gateway gets,
// then SIGTERM drain, kill -9 and a 5 s Redis stop, each checking that every client receives
// again. Each takes the test it reports to and the cluster run (cluster-harness.ts).
import type { Test } from 'tap';
import { waitFor } from '@vigil/testkit';
import {
  connectionsOf,
  getJson,
  laggards,
  libraryClient,
  median,
  rawClient,
  roomsRestored,
  sleep,
  type ClusterRun,
  type Kind,
  type Probe,
} from './cluster-harness.js';

/** The rooms of the WebSocket and long-polling clients. */
export const TRANSPORT_ROOMS = ['demo-cpu-wave', 'demo-mem-sawtooth', 'demo-http', 'demo-flaky', 'vigil-collector-1', 'vigil-collector-2'];

/** 8 WebSocket and 8 long-polling clients on each gateway, each in 3 rooms, subscribed once. */
export async function addTransportClients(t: Test, run: ClusterRun): Promise<Record<'ws' | 'polling', Probe[]>> {
  const { gw, ids, lb, probes, addressOn } = run;
  const rooms = TRANSPORT_ROOMS;
  const PER_GATEWAY = 8;
  const sets: Record<'ws' | 'polling', Probe[]> = { ws: [], polling: [] };
  const before = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
  for (const kind of ['ws', 'polling'] as const) {
    const at = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
    ids.forEach((id, g) => {
      for (let i = 0; i < PER_GATEWAY; i++) {
        const n = g * PER_GATEWAY + i;
        const mine = [rooms[n % rooms.length]!, rooms[(n + 1) % rooms.length]!, rooms[(n + 2) % rooms.length]!];
        // Addresses 0..15 of each gateway: one per client, none shared between the two sets.
        sets[kind].push(rawClient(lb, kind, addressOn(id, (kind === 'ws' ? 0 : PER_GATEWAY) + i), mine));
      }
    });
    probes.push(...sets[kind]);
    await waitFor(() => sets[kind].every((p) => p.confirmed === p.rooms.length), { timeoutMs: 20_000, message: `${kind} clients subscribed` });
    const now = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
    const spread = ids.map((id, g) => `${id}: ${now[g]! - at[g]!}`).join(', ');
    t.comment(`${kind}: ${sets[kind].length} clients through nginx, on ${spread} (vigil_gateway_connections)`);
    t.same(ids.map((_, g) => now[g]! - at[g]!), ids.map(() => PER_GATEWAY), `${kind}: ${PER_GATEWAY} clients on each gateway`);
  }
  t.same(before, ids.map(() => 0), 'no other clients on the gateways');
  return sets;
}

/** Seed-style and library clients, two of each per gateway, and 50 WebSocket load clients per gateway. */
export async function addDashboardClients(t: Test, run: ClusterRun): Promise<void> {
  const { gw, ids, lb, probes, addressOn, pokeHttp } = run;
  const seeds: Probe[] = [];
  const library: Probe[] = [];
  for (const id of ids) {
    for (let i = 0; i < 2; i++) seeds.push(rawClient(lb, 'seed', addressOn(id, 16 + i), ['demo-cpu-wave'], 'demo-http'));
    for (let i = 0; i < 2; i++) library.push(libraryClient(lb, addressOn(id, 18 + i), 'demo-mem-sawtooth', 'demo-http'));
  }
  probes.push(...seeds, ...library);
  const started = Date.now();
  await waitFor(
    async () => {
      await pokeHttp();
      return [...seeds, ...library].every((p) => p.confirmed === 2 && p.sampleAfter(started) !== null && p.logs.length > 0);
    },
    { timeoutMs: 15_000, intervalMs: 250, message: 'seed-style and library clients confirmed, receiving samples and log lines' },
  );
  t.comment(`${seeds.length} seed-style clients (transports websocket+polling, forceNew, reconnection on, subscribe once) and ${library.length} libs/client clients: confirmed, samples and log lines within ${Date.now() - started} ms`);
  t.pass('seed-style clients: subscription-confirmed ×2, process:info and process:logs through nginx');
  const load: Probe[] = [];
  ids.forEach((id) => {
    for (let i = 0; i < 50; i++) load.push(rawClient(lb, 'load', addressOn(id, 20 + i), ['demo-cpu-wave', 'vigil-collector-1']));
  });
  probes.push(...load);
  await waitFor(() => load.every((p) => p.confirmed === 2 && p.samples.length > 0), { timeoutMs: 20_000, message: 'the load clients receiving' });
  const counts = await Promise.all(ids.map((id) => connectionsOf(gw[id]!.metricsUrl)));
  t.comment(`with ${load.length} more WebSocket clients: ${ids.map((id, g) => `${id} ${counts[g]}`).join(', ')} connections`);
}

export async function drainScenario(t: Test, run: ClusterRun): Promise<void> {
  const { gw, probes, cluster, sessionCount, pokeHttp } = run;
  const victim = gw['gw-1']!;
  const seedLike = probes.filter((p) => p.kind !== 'library').length;
  await waitFor(async () => (await sessionCount()) >= seedLike, { message: `the sessions of the ${seedLike} clients that do not re-subscribe in Redis` });
  const on = await connectionsOf(victim.metricsUrl);
  const termAt = Date.now();
  process.kill(victim.pid, 'SIGTERM');
  // Readiness must not be green again: the first answer after the signal is 503, or the
  // connection is refused (a draining gateway stops listening so balancers fail over at once).
  let first: number | string = 0;
  while (first === 0 && Date.now() - termAt < 5000) {
    first = await getJson(`${victim.url}/readyz`).then(
      (r) => (r.status === 200 ? 0 : r.status),
      (err: Error & { cause?: { code?: string } }) => `not answering (${err.cause?.code ?? err.message})`,
    );
  }
  const redAfter = Date.now() - termAt;
  t.ok(first === 503 || String(first).startsWith('not answering'), `${victim.id} not ready ${redAfter} ms after SIGTERM (${first})`);
  const exit = await waitFor(() => /gateway-gw-1 \(pid \d+\) exited with code (\d+)/.exec(cluster.output()), { timeoutMs: 30_000, intervalMs: 50, message: 'gw-1 to exit' });
  const exitAfter = Date.now() - termAt;
  t.equal(exit[1], '0', `${victim.id} exited 0, ${exitAfter} ms after SIGTERM`);
  t.ok(exitAfter < 15_000, 'within its grace period');
  const affected = probes.filter((p) => p.disconnects.some((d) => d >= termAt));
  const byKind = (k: Kind) => affected.filter((p) => p.kind === k).length;
  t.ok(affected.length >= on - 1, `${affected.length} clients were let go (${victim.id} held ${on})`);
  t.ok(byKind('seed') > 0 && byKind('library') > 0, `among them ${byKind('seed')} seed-style and ${byKind('library')} libs/client clients`);
  const isBack = (p: Probe) =>
    p.backAt(termAt) !== null && (p.kind !== 'seed' && p.kind !== 'library' ? true : p.logs.some((l) => l > (p.connects.find((c) => c > termAt) ?? Infinity)));
  await waitFor(
    async () => {
      await pokeHttp();
      return affected.every(isBack);
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'every drained client receiving again (seed-style and library ones: log lines too)' },
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${laggards(affected, termAt, isBack)}`);
  });
  const back = affected.map((p) => p.backAt(termAt)! - termAt);
  await roomsRestored(t, affected);
  const counts = await Promise.all(['gw-2', 'gw-3'].map((id) => connectionsOf(gw[id]!.metricsUrl)));
  t.comment(
    `drain of ${victim.id}: not ready after ${redAfter} ms; ${affected.length} clients (${['ws', 'polling', 'seed', 'library', 'load'].map((k) => `${byKind(k as Kind)} ${k}`).join(', ')}) ` +
      `receiving again through nginx ${Math.max(...back)} ms after SIGTERM (median ${median(back)} ms); exit 0 after ${exitAfter} ms; now gw-2 ${counts[0]}, gw-3 ${counts[1]} connections`,
  );
}

export async function killScenario(t: Test, run: ClusterRun): Promise<void> {
  const { gw, probes, cluster } = run;
  const victim = gw['gw-2']!;
  const on = await connectionsOf(victim.metricsUrl);
  const survivorBefore = await connectionsOf(gw['gw-3']!.metricsUrl);
  const killedAt = Date.now();
  const rate = probes.reduce((n, p) => n + p.samples.filter(([at]) => at >= killedAt - 1000).length, 0);
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(() => /gateway-gw-2 \(pid \d+\) was killed by SIGKILL/.test(cluster.output()), { timeoutMs: 10_000, intervalMs: 50, message: 'run-local to notice' });
  const lostIt = () => probes.filter((p) => p.disconnects.some((d) => d >= killedAt));
  await waitFor(() => lostIt().length >= on, { timeoutMs: 10_000, message: `the ${on} clients of ${victim.id} to notice` }).catch(() => undefined);
  const affected = lostIt();
  const isBack = (p: Probe) => p.backAt(killedAt) !== null;
  await waitFor(() => affected.every(isBack), { timeoutMs: 30_000, intervalMs: 50, message: 'every client of the killed gateway receiving again' }).catch((err: Error) => {
    throw new Error(`${err.message}: ${laggards(affected, killedAt, isBack)}`);
  });
  await roomsRestored(t, affected);
  const back = affected.map((p) => p.backAt(killedAt)! - killedAt);
  const worst = Math.max(...back);
  const survivor = await connectionsOf(gw['gw-3']!.metricsUrl);
  t.comment(`kill -9 of ${victim.id} holding ${on} clients (of ${on + survivorBefore}, receiving ${rate} samples/s in all): all ${affected.length} receiving again on gw-3 ${worst} ms after SIGKILL (median ${median(back)} ms); gw-3 now holds ${survivor}`);
  t.ok(affected.length >= on - 1, `${affected.length} clients were on ${victim.id}`);
  t.ok(worst < 30_000, `back within 30 s (target 5 s: ${worst <= 5000 ? 'met' : 'missed'})`);
  t.ok(probes.every((p) => p.sampleAfter(killedAt) !== null), 'every client is receiving');
  t.match(cluster.output(), /1 of 3 gateways still serve/, 'run-local keeps the rest running');
}

export async function redisRestartScenario(t: Test, run: ClusterRun): Promise<void> {
  const { gw, probes, redis, sessionCount } = run;
  const clients = probes;
  const sessionsBefore = await sessionCount();
  const stoppedAt = Date.now();
  await redis.stop();
  await sleep(5000); // the outage
  const startedAt = Date.now();
  await redis.start();
  const isBack = (p: Probe) => p.sampleAfter(startedAt) !== null;
  await waitFor(() => clients.every(isBack), { timeoutMs: 30_000, intervalMs: 100, message: 'every client receiving again after the restart' }).catch((err: Error) => {
    throw new Error(`${err.message}: ${laggards(clients, startedAt, isBack)}`);
  });
  const back = clients.map((p) => p.sampleAfter(startedAt)! - startedAt);
  t.comment(`Redis down ${startedAt - stoppedAt} ms; all ${clients.length} clients receiving again ${Math.max(...back)} ms after it started (median ${median(back)} ms)`);
  await waitFor(async () => (await getJson(`${gw['gw-3']!.url}/readyz`)).status === 200, { timeoutMs: 15_000, message: 'gw-3 ready again' });
  t.pass('gw-3 /readyz 200 again');
  // A Redis that comes back empty (no persistence, or a failover to an empty replica) has lost
  // every client session; a client that does not re-subscribe needs its session written again
  // before it next moves to another gateway.
  const seedLike = probes.filter((p) => p.kind !== 'library').length;
  const sessionsAfter = await waitFor(async () => ((await sessionCount()) >= seedLike ? sessionCount() : null), { timeoutMs: 3000, intervalMs: 200 }).catch(() => sessionCount());
  t.comment(`client sessions in Redis: ${sessionsBefore} before the restart, ${sessionsAfter} 3 s after it (${seedLike} clients rely on theirs)`);
  t.ok(sessionsAfter >= seedLike, 'the gateways write their clients\' sessions again after Redis comes back empty');
}

/** The recovery scenarios in order, by their test names; they share one cluster and its clients. */
export const RECOVERY_SCENARIOS: Array<[string, (t: Test, run: ClusterRun) => Promise<void>]> = [
  ['SIGTERM drains a gateway: readiness red at once, its clients come back through nginx', drainScenario],
  ['kill -9 of a gateway under load: its clients receive again on the other', killScenario],
  ['Redis stops for 5 s and starts again: every client receives again', redisRestartScenario],
];
