// bench/README.md from a results file: what each benchmark measures and how, the machine, the
// figures and the ratios against the baselines. Everything numeric comes from the results.
import { DEFAULT_SAMPLING, type SamplingReport, type SamplingRow } from '../collector-sampling.js';
import { DEFAULT_FANOUT, highestKeptUp, type FanoutReport, type Stack, type Step, type StackResult } from '../fanout.js';
import type { Machine } from './machine.js';
import type { MemoryReport } from '../redis-memory.js';
import { memorySection } from './memory-report.js';
import { hostSamplingSection, type HostSamplingReport } from '../host-sampling.js';
import { DEFAULT_INTERVAL, intervalSection, type IntervalReport } from '../collector-interval.js';
import type { CapacityReport } from '../capacity.js';
import { capacitySection } from './capacity-report.js';

export type Section<T> = { command: string; startedAt: string; finishedAt: string; otherCoresBefore: number | null; loadAvgAfter: number[]; report: T };

export type Results = {
  command: string;
  machine: Machine;
  sampling: Section<SamplingReport> | null;
  fanout: Section<FanoutReport> | null;
  /** Absent in results written before the memory benchmark existed. */
  memory?: Section<MemoryReport> | null;
  /** Absent in results written before the host benchmark existed. */
  host?: Section<HostSamplingReport> | null;
  /** Absent in results written before this benchmark existed. */
  interval?: Section<IntervalReport> | null;
  /** Absent in results written before this benchmark existed. */
  capacity?: Section<CapacityReport> | null;
};

/** A sampling run of an earlier version of the collector, kept for comparison (bench/results/sampling-before.json). */
export type SamplingBefore = { label: string; section: Section<SamplingReport> };

/** Where the workers' busy time went, from a profiled run (bench/results/sampling-profile.json, bench/profile-summary.ts). */
export type SamplingProfile = {
  command: string;
  startedAt: string;
  finishedAt: string;
  vigilOverBatched: number;
  otherCores: Record<string, number | null>;
  modes: Array<{ mode: SamplingRow['mode']; owners: Array<{ name: string; ms: number; share: number }> }>;
};

function profileTable(p: SamplingProfile): string {
  const names = [...new Set(p.modes.flatMap((m) => m.owners.map((o) => o.name)))];
  const share = (mode: SamplingRow['mode'], name: string) => p.modes.find((m) => m.mode === mode)?.owners.find((o) => o.name === name)?.share;
  const rows = names.map((name) => [name, ...p.modes.map((m) => `${f((share(m.mode, name) ?? 0) * 100)}%`)]);
  return `Where each worker's busy time goes at 1,000 targets, from a profiled run (${p.startedAt} – ${p.finishedAt};
the profiler itself costs CPU, the ratio in that run was ${f(p.vigilOverBatched, 2)}×, other load ${p.modes.map((m) => `${m.mode} ${f(p.otherCores[m.mode], 2)}`).join(', ')} cores).
Each sample counts for the nearest frame on its stack that one of these owns; shares are of the time not idle.
Command: \`${p.command}\`.

${table(['owner', ...p.modes.map((m) => MODE_LABEL[m.mode])], rows)}

What vigil adds to the bare loop: its own code per sample (sampler bookkeeping, trackers, publisher), encoding the
tick (each sample's JSON written as bytes between pieces encoded once per server and per tick, each server's keys
encoded once as RESP: libs/store byte-lines.ts and resp.ts), the write and its reply (one socket write of about 320
bytes per sample, and one more wake-up per tick when Redis answers), and the garbage collection of what a tick leaves.
Some of it lands inside the pidusage window (GC, replies arriving while pidusage waits on its reads), so vigil's
"in pidusage" figure can differ from the bare loop's either way. \`bench/collector-own.ts\` measures the same path with
sampling faked (about 4 µs per target-sample at 1,000 targets every 100 ms), free of pidusage's run-to-run spread.
`;
}

const f = (x: number | null | undefined, digits = 1): string => (x == null ? '–' : x.toFixed(digits));
const int = (x: number | null | undefined): string => (x == null ? '–' : Math.round(x).toLocaleString('en-US'));

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const MODE_LABEL: Record<SamplingRow['mode'], string> = {
  batched: '(a) baseline: one batched `pidusage(pids)` per tick',
  'per-pid': '(c) naive: one `pidusage(pid)` call per pid',
  vigil: '(b) vigil collector → Redis',
};

function beforeAfter(before: SamplingBefore, after: Section<SamplingReport>): string {
  const row = (s: Section<SamplingReport>, targets: number, mode: SamplingRow['mode']) => s.report.rows.find((r) => r.targets === targets && r.mode === mode);
  const ratio = (s: Section<SamplingReport>, targets: number) => s.report.ratios.find((r) => r.targets === targets)?.vigilOverBatched;
  const rows = after.report.options.sizes.map((targets) => {
    const [b, a] = [row(before.section, targets, 'vigil'), row(after, targets, 'vigil')];
    const rest = (r: SamplingRow | undefined) => (r ? r.usPerTargetSample - r.sampleUsPerTargetSample : null);
    return [
      String(targets),
      `${f(ratio(before.section, targets), 2)}× → **${f(ratio(after, targets), 2)}×**`,
      `${f(b?.usPerTargetSample)} → ${f(a?.usPerTargetSample)}`,
      `${f(rest(b))} → ${f(rest(a))}`,
      `${f(b?.redisUsPerTargetSample)} → ${f(a?.redisUsPerTargetSample)}`,
      `${f(b?.otherCores, 2)} / ${f(a?.otherCores, 2)}`,
    ];
  });
  return `Before and after: ${before.label}, measured ${before.section.startedAt} – ${before.section.finishedAt} with
\`${before.section.command}\`, against the run above. The two runs had different other load, so compare each run's
ratio (measured within one run) more than its raw figures.

${table(['targets', 'vigil ÷ batched, before → after', 'vigil µs/target-sample', 'rest (µs, not pidusage)', 'redis µs/target-sample', 'other load before / after (cores)'], rows)}
`;
}

function samplingSection(s: Section<SamplingReport>, before: SamplingBefore | null, profile: SamplingProfile | null): string {
  const r = s.report;
  const o = r.options;
  const rows = r.rows.map((row) => [
    String(row.targets),
    MODE_LABEL[row.mode],
    String(row.ticks),
    f(row.usPerTargetSample),
    (row.perRunUs ?? []).map((x) => f(x)).join(' / '),
    f(row.sampleUsPerTargetSample),
    f(row.usPerTargetSample - row.sampleUsPerTargetSample),
    f(row.tickBusyMs),
    f(row.redisUsPerTargetSample),
    f(row.otherCores, 2),
  ]);
  const redisOf = (targets: number) => r.rows.find((row) => row.targets === targets && row.mode === 'vigil')?.redisUsPerTargetSample;
  const ratios = r.ratios.map((x) => [String(x.targets), `${f(x.vigilOverBatched, 2)}×`, `${f(x.perPidOverBatched, 2)}×`, f(redisOf(x.targets))]);
  return `## 1. Collector CPU per target-sample (\`bench/collector-sampling.ts\`)

**What it measures.** The CPU time a sampling process spends per target per tick (µs/target-sample),
for N idle targets, comparing three ways of sampling the same pids:

- **(a) baseline**: a bare loop calling \`pidusage(pids)\` once per tick with all pids, nothing else: the floor.
- **(b) vigil**: the real collector, \`createCollector()\` from \`services/collector\`, with N \`pid\` targets,
  writing every tick to a private \`redis-server\` (history XADD + latest SET + SPUBLISH to the room,
  registry HSET, heartbeats ZADD, in one pipelined round trip). Its sampler is pidusage, injected through
  the \`sample\` option only to count ticks and time the sampling part; the agent adds its own pid to each
  batch (N + 1 pids per call).
- **(c) naive**: one \`pidusage(pid)\` call per pid, one after the other: the second reference.

**How.** ${int(Math.max(...o.sizes))} processes \`${r.targetsKind}\` are started once; each (mode, N) runs in a fresh
Node process (pidusage keeps module-global state), ticks every ${o.intervalMs} ms (or at once when a tick
overran, as the collector does), warms up for ${o.warmupTicks} ticks, then measures ${o.ticks} ticks
(the naive mode at N ≥ 500: ${o.perPidTicksLarge}, since each of its ticks takes far longer than the interval). Every
(N, mode) runs ${o.repeats ?? 1} time${(o.repeats ?? 1) === 1 ? '' : 's'}, in rounds; the figures pool the runs (total CPU ÷ total target-samples) and
"per run" shows the spread.
CPU is \`process.cpuUsage()\` (user + system, all threads) from the start of the first measured tick to the start
of the tick after the last, so it includes publishing and everything the process does between ticks.
"in pidusage" is the CPU spent inside the pidusage calls; redis-server's CPU comes from \`/proc/<pid>/stat\`
(10 ms resolution; it includes redis's own idle housekeeping, visible in the rows where nothing writes to it).
"Other load" is what the rest of the machine used meanwhile (\`/proc/stat\` busy time minus this process and redis).
Where the collector's share goes: run with \`VIGIL_BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"\` and sum
the vigil worker's profile with \`node --import tsx bench/profile-summary.ts <file>.cpuprofile --skip-ms=8000\`.

${table(
  ['targets', 'mode', 'ticks (all runs)', 'µs/target-sample (process)', 'per run', 'of which in pidusage', 'rest (track + publish + idle)', 'tick wall ms', 'redis µs/target-sample', 'other load (cores)'],
  rows,
)}

Ratios (µs/target-sample, process CPU):

${table(['targets', 'vigil ÷ batched baseline', 'naive ÷ batched baseline', 'redis-server µs/target-sample (vigil; not in the ratio)'], ratios)}
${r.notes.length > 0 ? `\nNotes from the run:\n\n${r.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
Measured ${s.startedAt} – ${s.finishedAt} with \`${s.command}\`; other load just before: ${f(s.otherCoresBefore, 2)} cores.
${before ? `\n${beforeAfter(before, s)}` : ''}${profile ? `\n${profileTable(profile)}` : ''}`;
}

function stepRows(st: StackResult, windowSec: number): string[][] {
  const cores = (ms: number | null) => (ms === null ? '–' : (ms / 1000 / windowSec).toFixed(2));
  return st.steps.map((s: Step) => [
    String(s.ratePerSec),
    int(s.offeredPerSec),
    int(s.deliveriesPerSec),
    `${f(s.deliveredFraction * 100, 2)}%`,
    f(s.latencyMs.p50),
    f(s.latencyMs.p90),
    f(s.latencyMs.p99),
    f(s.latencyMs.max),
    f(s.gatewayUsPerDelivery),
    cores(s.cpuMs.gateways),
    cores(s.cpuMs.clients),
    cores(s.cpuMs.publisher),
    cores(s.cpuMs.redis),
    s.discardedOtherCores === null ? f(s.otherCores, 2) : `${f(s.otherCores, 2)} (retried; first ${f(s.discardedOtherCores, 2)})`,
    s.sustained ? 'yes' : s.keptUp ? 'kept up, p99 over' : '**no** (saturated)',
  ]);
}

const STACK_NAMES: Record<Stack, string> = { vigil: 'vigil-Socket.IO', baseline: 'baseline Socket.IO', ws: 'vigil-/ws' };

const STACK_TITLES: Record<Stack, string> = {
  vigil: 'vigil-Socket.IO: BatchWriter → Redis → vigil gateways (buildApp) → socket.io clients',
  baseline: 'baseline Socket.IO: `io.to(room).emit` → Redis → bare Socket.IO + sharded adapter → socket.io clients',
  ws: 'vigil-/ws: BatchWriter → Redis → vigil gateways (buildApp) → plain WebSocket clients on `/ws`',
};

/** The figures the run is for, one row per stack, ratios against the baseline of the same run. */
function summaryTable(r: FanoutReport): string {
  const o = r.options;
  const rows = r.stacks.map((st) => {
    const x = r.ratios.find((q) => q.stack === st.stack);
    const isBase = st.stack === 'baseline';
    const vs = (v: number | null | undefined) => (isBase ? '1×' : `${f(v, 2)}×`);
    const cheaper = x?.usPerDelivery && x.usPerDelivery < 1 ? ` (${f(1 / x.usPerDelivery, 2)}× cheaper)` : '';
    return [
      `**${STACK_NAMES[st.stack]}**`,
      st.best ? `${int(st.best.deliveriesPerSec)} (${st.best.ratePerSec} ticks/s)` : '–',
      vs(x?.bestDeliveriesPerSec),
      f(st.usPerDelivery, 1),
      isBase ? '1×' : `${f(x?.usPerDelivery, 2)}×${cheaper}`,
      st.peak ? int(st.peak.deliveriesPerSec) : '–',
    ];
  });
  return table(
    [
      'stack',
      `highest sustained deliveries/s (p99 ≤ ${o.p99LimitMs} ms)`,
      '÷ baseline',
      `gateway CPU µs/delivery (rates ${r.commonRates.join(', ') || 'none'} ticks/s)`,
      '÷ baseline',
      'most deliveries/s received (capacity)',
    ],
    rows,
  );
}

function fanoutSection(s: Section<FanoutReport>): string {
  const r = s.report;
  const o = r.options;
  const windowSec = o.windowMs / 1000;
  const head = [
    'ticks/s',
    'offered/s',
    'received/s',
    'arrived',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'gateway µs/delivery',
    'gateways (cores)',
    'clients (cores)',
    'publisher (cores)',
    'redis (cores)',
    'other load (cores)',
    'sustained',
  ];
  const stacks = r.stacks
    .map((st) => {
      const title = STACK_TITLES[st.stack];
      const best = st.best
        ? `Highest sustained (p99 ≤ ${o.p99LimitMs} ms): **${int(st.best.deliveriesPerSec)} deliveries/s** (${st.best.ratePerSec} ticks/s), p50 ${f(st.best.latencyMs.p50)} ms, p99 ${f(st.best.latencyMs.p99)} ms.`
        : `No step kept p99 ≤ ${o.p99LimitMs} ms.`;
      const peak = st.peak
        ? ` Most deliveries/s received in a step, whatever the latency (its capacity here): **${int(st.peak.deliveriesPerSec)}** (${st.peak.ratePerSec} ticks/s, p99 ${f(st.peak.latencyMs.p99)} ms).`
        : '';
      const keptUp = highestKeptUp(st);
      const kept = keptUp
        ? ` Highest rate kept up with, whatever the p99: ${keptUp.ratePerSec} ticks/s (${int(keptUp.deliveriesPerSec)} deliveries/s, p99 ${f(keptUp.latencyMs.p99)} ms).`
        : '';
      const last = st.steps[st.steps.length - 1];
      const ceiling =
        last && last.keptUp && (last.latencyMs.p99 ?? Infinity) <= o.stopP99Ms
          ? ' The highest rate tried still kept up: the ceiling is higher than shown.'
          : '';
      const notes = st.notes.length > 0 ? `\n\n${st.notes.map((n) => `- ${n}`).join('\n')}` : '';
      return `### ${title}\n\n${st.connected} clients connected and subscribed.\n\n${table(head, stepRows(st, windowSec))}\n\n${best}${kept}${peak}${ceiling}${notes}`;
    })
    .join('\n\n');
  const ratios = r.ratios
    .map((x) => {
      const name = STACK_NAMES[x.stack];
      const per = x.perRate.map((q) => [
        String(q.ratePerSec),
        `${f(q.p50, 2)}×`,
        `${f(q.p99, 2)}×`,
        `${f(q.gatewayUsPerDelivery, 2)}×`,
        `${f(q.otherCores.stack, 2)} / ${f(q.otherCores.baseline, 2)}`,
      ]);
      return `### Ratios, ${name} ÷ baseline

- Highest sustained deliveries/s (p99 ≤ ${o.p99LimitMs} ms): **${f(x.bestDeliveriesPerSec, 2)}×**
- Highest rate kept up with, whatever the p99: **${f(x.keptUpRate, 2)}×**
- Most deliveries/s received in a step (capacity): **${f(x.peakDeliveriesPerSec, 2)}×**
- Gateway CPU per delivery over the rates every stack was measured at: **${f(x.usPerDelivery, 2)}×**
- At each rate both kept up with (below 1 is better for ${name}; latency ratios are only as good as the other load
  columns are equal and low):

${per.length > 0 ? table(['ticks/s', 'p50', 'p99', 'gateway µs/delivery', `other load (${name} / baseline, cores)`], per) : '(no rate was kept up with by both)'}`;
    })
    .join('\n\n');
  return `## 2. End-to-end fan-out (\`bench/fanout.ts\`)

**What it measures.** Deliveries per second and latency from publish to a client's \`process:info\` handler,
through Redis and ${o.gateways} gateways, for ${int(o.clients)} clients watching ${o.servers} servers
(${Math.round(o.clients / o.servers)} clients per server room, spread over ${o.gateways} gateways so that every room has
clients on every gateway), and the gateways' CPU per delivery. Stacks, same number of clients, same rooms, same payloads:

- **vigil-Socket.IO** (\`vigil\`): the collector's publish path, one \`BatchWriter.write\` per tick (a Lua script per tick that, per
  server, XADDs the sample, SETs latest and SPUBLISHes it in the sharded adapter's wire format with the stream id
  as position; plus registry HSET and heartbeats ZADD) → vigil gateways built with \`buildApp()\`, which verify a
  real token in every client's handshake, as deployed (once per connection, not per delivery) → socket.io-client.
- **baseline Socket.IO** (\`baseline\`): the stock way: a Socket.IO server with \`createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' })\`
  and no clients does \`io.of('/monitoring').to(room).emit('process:info', payload)\` per server per tick → two bare
  Socket.IO servers on the same adapter, whose only handler joins the room → socket.io-client.
- **vigil-/ws** (\`ws\`): the same publisher and vigil gateways as vigil-Socket.IO; the clients are plain WebSockets
  (the \`ws\` package) on the gateway's \`/ws\`, the token in the upgrade's \`Authorization: Bearer\` header, subscribed with a
  \`{ "id", "event": "subscribe-server-metrics", "data": { "serverId" } }\` frame; each sample arrives as \`{ "event": "process:info", "data" }\`.

The bench gateways keep every product default except the per-address connection caps, raised to the number of
clients (they all come from 127.0.0.1).

**How.** Every role is its own process: ${o.gateways} gateways, 1 publisher, ${o.clientProcs} client processes
(socket.io-client on the websocket transport, or \`ws\`; one connection per client) and one private \`redis-server\` per
stack. All stacks are up at once and take turns at each rate, in alternating order, after an unrecorded warm-up step each.

- **Load.** One sample per server per tick: a \`process:info\` JSON body of about 280 bytes (position and \`sentAt\`
  included; about 310 bytes as a Socket.IO packet, about 300 as a \`/ws\` frame). The servers are split among ${o.collectors} simulated
  collector${o.collectors === 1 ? '' : 's'} whose ticks are staggered evenly over the period (collectors on different hosts are not in
  phase); each collector tick is one publish of its ${Math.ceil(o.servers / o.collectors)} servers, a burst of about
  ${int(Math.ceil(o.servers / o.collectors) * (o.clients / o.servers))} deliveries. Offered deliveries/s = ticks/s × ${int(o.clients)}.
- **Steps.** ${o.warmupMs / 1000} s warm-up, then a ${windowSec} s window. *received/s*: what the clients received while the
  window was open (it stays below offered/s when the stack saturates). *arrived*: the share of the deliveries due for
  samples published in the window that arrived at all (they get up to 5 s after the window). Latency = receive time −
  \`sentAt\`, both read from the machine's monotonic clock (\`process.hrtime\`, the same clock in every process), over
  the samples published in the window. A step **kept up** when the publisher kept its schedule (≥ 95% of the nominal
  rate), received/s ≥ 98% of offered/s and ≥ 99% arrived; it is **sustained** when it also kept p99 ≤ ${o.p99LimitMs} ms.
  The ramp (${o.ratesPerSec.join(', ')} ticks/s) stops, per stack, after a step that did not keep up or whose p99
  passed ${o.stopP99Ms} ms (once per stack, such a step measured under more than ${o.retryAboveOtherCores} cores of other load is forgiven
  and the ramp goes on; the stack's notes say so).
- **CPU.** Per role, from \`/proc/<pid>/stat\` over the window (10 ms resolution), in cores (CPU seconds per second);
  gateway µs/delivery = both gateways' CPU ÷ deliveries received; the summary's figure pools the rates every stack
  was measured at (their gateway CPU ÷ their deliveries, saturated steps included: CPU spent over what was delivered),
  so that all stacks are compared over the same rates. Everything (clients included, see their
  column) shares the machine's cores, so a ceiling here is the machine's, not a gateway's alone.
- **Noise.** Before each step the run waits for other work to use less than ${o.retryAboveOtherCores} cores (at most
  ${o.quietBudgetMs / 1000} s of waiting over the whole run; ${int(r.quietWaitMs == null ? null : r.quietWaitMs / 1000)} s were spent); a step measured while other work used more
  anyway is measured once more and the quieter of the two is kept (the "other load" column says so). "Other load"
  counts everything outside the measured stack, the other stack's idle processes included.

### Summary

${summaryTable(r)}

${stacks}

${ratios}

### Why \`/ws\` is not three times cheaper here

Every stack makes one \`write\` system call per delivery and no other per-delivery work of note (\`bench/fanout-probe.ts\`
counts them: 1.00–1.03 writes per delivery in all three). Socket.IO also encodes a broadcast once and writes the same
packet to each client, so what a pre-encoded \`/ws\` frame saves is small. What is left is the write itself: on this
machine one \`socket.write\` of a 300-byte frame to a loopback connection costs 10.8–17 µs of the writer's CPU at
5,000–15,000 writes/s, 7.3–8.5 µs of it in the kernel (\`node --import tsx bench/fanout-floor.ts\`, 2026-12-01; 6–9 µs
from C). A third of the baseline's 22–30 µs per delivery is below that floor. Each bench client receives one message
per tick, so no two deliveries to one client could share a write.

Measured ${s.startedAt} – ${s.finishedAt} with \`${s.command}\`; other load just before: ${f(s.otherCoresBefore, 2)} cores.`;
}

function flagLine(): string {
  const d = DEFAULT_SAMPLING;
  const o = DEFAULT_FANOUT;
  const sampling = `--sizes=${d.sizes.join(',')} --interval=${d.intervalMs} --warmup-ticks=${d.warmupTicks} --ticks=${d.ticks} --per-pid-ticks=${d.perPidTicksLarge} --repeats=${d.repeats}`;
  const fanout =
    `--clients=${o.clients} --servers=${o.servers} --gateways=${o.gateways} --client-procs=${o.clientProcs} --collectors=${o.collectors} ` +
    `--rates=${o.ratesPerSec.join(',')} --warmup=${o.warmupMs / 1000} --window=${o.windowMs / 1000} --p99-limit=${o.p99LimitMs} ` +
    `--stop-p99=${o.stopP99Ms} --retry-above=${o.retryAboveOtherCores} --quiet-budget=${o.quietBudgetMs / 1000} --stacks=${o.stacks.join(',')}`;
  const i = DEFAULT_INTERVAL;
  const interval =
    `--interval-targets=${i.targets} --interval-configured=${i.configuredMs} --interval-fast=${i.fastMs} ` +
    `--interval-warmup=${i.warmupMs / 1000} --interval-window=${i.windowMs / 1000} --interval-repeats=${i.repeats}`;
  return `\`${sampling}\` for the collector benchmark, \`${fanout}\` for the fan-out, \`${interval}\` for the interval one`;
}

/** The machine the figures were measured on, as a Markdown table (also bench/SOAK.md's). */
export function machineTable(m: Results['machine']): string {
  return table(
    ['cores (nproc)', 'CPU', 'memory', 'node', 'redis-server', 'kernel', 'load average at start (1/5/15 min)'],
    [[String(m.nproc), m.cpuModel, `${m.memGiB} GiB`, m.node, m.redis, m.kernel, m.loadAvgAtStart.join(' / ')]],
  );
}

export function renderReadme(r: Results, samplingBefore: SamplingBefore | null = null, samplingProfile: SamplingProfile | null = null): string {
  const m = r.machine;
  const parts = [
    `# vigil benchmarks

Generated by \`bench/run.ts\` from \`bench/results/latest.json\`; every figure below is measured, none is typed in.
Reproduce with:

\`\`\`sh
${r.command}
\`\`\`

Sizes are flags (or \`VIGIL_BENCH_*\` environment variables), defaults shown: ${flagLine()}; \`--only=sampling|fanout|memory|host|interval|capacity\`
runs one benchmark (the other sections are then kept from the previous results); \`--render-only\` rewrites this page
from the results file. Run standalone,
\`bench/collector-sampling.ts\`, \`bench/fanout.ts\` and \`bench/host-sampling.ts\` print their JSON.

## Machine

${machineTable(m)}

The machine is shared: other work runs while the benchmarks do. Each table has an "other load" column (cores used
by processes outside the benchmark during the measurement); figures taken under heavy other load are pessimistic,
latency ones most of all.`,
  ];
  if (r.sampling) parts.push(samplingSection(r.sampling, samplingBefore, samplingProfile));
  if (r.fanout) parts.push(fanoutSection(r.fanout));
  if (r.memory) parts.push(memorySection(r.memory));
  if (r.host) parts.push(hostSamplingSection(r.host));
  if (r.interval) parts.push(intervalSection(r.interval));
  if (r.capacity) parts.push(capacitySection(r.capacity));
  return parts.join('\n\n') + '\n';
}
