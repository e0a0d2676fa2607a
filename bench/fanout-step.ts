// One step of the fan-out ramp: the publisher runs at a rate through a warm-up and a measuring window,
// CPU of every process is read at the window's edges, and the clients' counts and latency histograms
// are collected once what was due has arrived. Also the waits around steps: for a quiet machine
// before, for the clients to drain a backlog after.
import { monoNow } from './lib/children.js';
import { cpuDelta, machineBusyMs, otherCores, snapshotCpu, waitForQuiet } from './lib/cpu.js';
import { summarize, type LatencySummary, type SparseHistogram } from './lib/histogram.js';
import type { FanoutOptions } from './fanout.js';
import type { StackProcs } from './fanout-stack.js';

export type Step = {
  ratePerSec: number;
  /** Deliveries due for the samples published in the window, per second. */
  offeredPerSec: number;
  /** Deliveries received by the clients while the window was open, per second: below offered when saturated. */
  deliveriesPerSec: number;
  /** Deliveries due in the window that arrived at all (within the drain), as a fraction of those due. */
  deliveredFraction: number;
  latencyMs: LatencySummary;
  /** CPU ms spent in the window, per process role. */
  cpuMs: { gateways: number | null; clients: number | null; publisher: number | null; redis: number | null };
  gatewayUsPerDelivery: number | null;
  /** Cores' worth of CPU used by processes other than the benchmark's during the window. */
  otherCores: number | null;
  publisherMaxLagMs: number;
  publishFailures: number;
  disconnects: number;
  sustained: boolean;
  /** Other load during a first attempt that was discarded for being busier than this one; null if none. */
  discardedOtherCores: number | null;
  /** The publisher kept its schedule and the clients received ≥ 98% of the offered rate, all of it in the end. */
  keptUp: boolean;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sum(values: Array<number | null>): number | null {
  let total = 0;
  for (const v of values) {
    if (v === null) return null;
    total += v;
  }
  return total;
}

/** Clients watching server i (client j watches server j mod S). */
function clientsOf(o: FanoutOptions, i: number): number {
  return Math.floor(o.clients / o.servers) + (i < o.clients % o.servers ? 1 : 0);
}

export async function runStep(p: StackProcs, o: FanoutOptions, ratePerSec: number): Promise<Step> {
  const pids: Record<string, number> = { orchestrator: process.pid, publisher: p.publisher.pid };
  p.servers.forEach((s, i) => (pids[`gateway${i}`] = s.pid));
  p.clients.forEach((c, i) => (pids[`clients${i}`] = c.pid));
  if (p.redisPid !== null) pids.redis = p.redisPid;

  const start = monoNow() + 100;
  const from = start + o.warmupMs;
  const to = from + o.windowMs;
  for (const c of p.clients) c.send({ type: 'measure', from, to });
  p.publisher.send({ type: 'run', run: { ratePerSec, from, to, until: to } });
  await sleep(Math.max(0, from - monoNow()));
  const cpu0 = snapshotCpu(pids);
  const busy0 = machineBusyMs();
  const t0 = monoNow();
  await sleep(Math.max(0, to - monoNow()));
  const cpu1 = snapshotCpu(pids);
  const busy1 = machineBusyMs();
  const measuredMs = monoNow() - t0;
  const ran = (await p.publisher.next<{ type: string; result: { samplesInWindow: number[]; maxLagMs: number; failures: number } }>('ran', 60_000)).result;

  // Drain: wait until everything due has arrived, or nothing more arrives for a second (at most 5 s).
  const expected = ran.samplesInWindow.reduce((total, samples, i) => total + samples * clientsOf(o, i), 0);
  /** What the rate asks for; a publisher that could not keep its schedule offered less. */
  const nominal = (ratePerSec * o.clients * o.windowMs) / 1000;
  let last = -1;
  let stableSince = monoNow();
  for (const deadline = monoNow() + 5000; monoNow() < deadline; ) {
    let got = 0;
    for (const c of p.clients) {
      c.send({ type: 'count' });
      got += Number((await c.next<{ type: string; inWindow: number }>('count', 10_000)).inWindow);
    }
    if (got >= expected) break;
    if (got !== last) {
      last = got;
      stableSince = monoNow();
    } else if (monoNow() - stableSince > 1000) break;
    await sleep(200);
  }
  const parts: SparseHistogram[] = [];
  let delivered = 0;
  let receivedDuring = 0;
  let disconnects = 0;
  for (const c of p.clients) {
    c.send({ type: 'report' });
    const r = await c.next<{ type: string; histogram: SparseHistogram; inWindow: number; receivedDuring: number; disconnects: number }>(
      'report',
      10_000,
    );
    parts.push(r.histogram);
    delivered += r.inWindow;
    receivedDuring += r.receivedDuring;
    disconnects += r.disconnects;
  }
  const d = cpuDelta(cpu0, cpu1);
  const gateways = sum(p.servers.map((_, i) => d[`gateway${i}`] ?? null));
  const latencyMs = summarize(parts);
  const windowSec = o.windowMs / 1000;
  const deliveredFraction = expected === 0 ? 0 : delivered / expected;
  const keptUp = ran.failures === 0 && expected >= 0.95 * nominal && deliveredFraction >= 0.99 && receivedDuring >= 0.98 * expected;
  return {
    ratePerSec,
    offeredPerSec: Math.round(expected / windowSec),
    deliveriesPerSec: Math.round(receivedDuring / windowSec),
    deliveredFraction: Math.round(deliveredFraction * 10_000) / 10_000,
    latencyMs,
    cpuMs: {
      gateways,
      clients: sum(p.clients.map((_, i) => d[`clients${i}`] ?? null)),
      publisher: d.publisher ?? null,
      redis: d.redis ?? null,
    },
    otherCores: otherCores(busy0 === null || busy1 === null ? null : busy1 - busy0, sum(Object.values(d)), measuredMs),
    gatewayUsPerDelivery: gateways === null || receivedDuring === 0 ? null : Math.round(((gateways * 1000) / receivedDuring) * 100) / 100,
    publisherMaxLagMs: ran.maxLagMs,
    publishFailures: ran.failures,
    disconnects,
    sustained: keptUp && latencyMs.p99 !== null && latencyMs.p99 <= o.p99LimitMs,
    keptUp,
    discardedOtherCores: null,
  };
}

/** Waits for a quiet machine before a step, spending at most `budgetMs` over the whole run. */
export function quietGate(cores: number, budgetMs: number, log: (l: string) => void) {
  let waited = 0;
  return {
    async wait(): Promise<void> {
      const left = budgetMs - waited;
      if (left <= 0) return;
      const t0 = monoNow();
      await waitForQuiet(cores, left, log);
      // The probe itself takes a second even on a quiet machine; only time beyond that counts.
      waited += Math.max(0, monoNow() - t0 - 1000);
    },
    waitedMs: () => Math.round(waited),
  };
}

/** Waits until the clients have received nothing more for a second (a saturated step leaves a backlog), at most 15 s. */
export async function settle(p: StackProcs): Promise<void> {
  let last = -1;
  let quietPolls = 0;
  for (const deadline = monoNow() + 15_000; monoNow() < deadline; ) {
    let received = 0;
    for (const c of p.clients) {
      c.send({ type: 'count' });
      received += Number((await c.next<{ type: string; received: number }>('count', 10_000)).received);
    }
    quietPolls = received === last ? quietPolls + 1 : 0;
    if (quietPolls >= 2) return;
    last = received;
    await sleep(500);
  }
}
