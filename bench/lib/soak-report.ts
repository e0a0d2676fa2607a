// The soak benchmark's outputs from its results: the growth limits it judges by (and why), the
// memory chart (bench/SOAK-memory.svg) and the page (bench/SOAK.md). Every figure on the page comes
// from bench/results/soak.json; none is typed in.
import type { Machine } from './machine.js';
import type { ConnMemoryRow } from './conn-memory.js';
import { RAISED_LIMITS } from './conn-memory.js';
import { machineTable } from './report.js';
import { lineChart, type Panel } from './svg-chart.js';
import type { Limit, Metric, Sample, Verdict } from './trend.js';

const MiB = 2 ** 20;

/** Growth per 10 minutes a post-warm-up segment may show: max(floor, fraction × its median level). */
export const LIMITS: Partial<Record<Metric, Limit>> = {
  rss: { floor: 20 * MiB, fraction: 0.1, unit: 'bytes', why: 'RSS moves by several MiB when V8 grows or shrinks a heap space or glibc keeps freed pages; 20 MiB (or 10% of a large process) per 10 minutes is above that and well below a leak that matters (one that would double a 100 MiB gateway in under an hour).' },
  heap: { floor: 8 * MiB, fraction: 0.1, unit: 'bytes', why: 'heap used is read right after a full collection (see above), so it is what the gateway retains; it still moves by a MiB or two with what is in flight. 8 MiB per 10 minutes is about 40% of an idle gateway\'s heap per hour, far above that.' },
  handlesLessConns: { floor: 10, fraction: 0, unit: 'handles', why: 'a gateway\'s active handles less its connections (each connected client holds handles that go when it leaves; the population moves between gateways with restarts): what is left is timers, servers and Redis links, which must stay flat; one leaked timer or socket per client that left would add hundreds per 10 minutes.' },
  fdsLessConns: { floor: 10, fraction: 0, unit: 'fds', why: 'the same for a gateway\'s file descriptors less its connections (nginx\'s pooled upstream connections also count, at most 32 per nginx worker).' },
  fds: { floor: 10, fraction: 0, unit: 'fds', why: 'collectors, nginx (master and workers) and redis-server: with a steady client population their descriptors are bounded, so a trend of more than 10 per 10 minutes means descriptors are not given back.' },
  usedMemory: { floor: 20 * MiB, fraction: 0.1, unit: 'bytes', why: 'Redis holds history streams that fill up to their cap and sessions with a TTL; 20 MiB per 10 minutes is more than the run\'s few servers can add before their caps, so growth beyond it would be keys that never go.' },
};

export type SoakSection = {
  startedAt: string;
  finishedAt: string;
  minutes: number;
  auth: string;
  settings: Record<string, unknown>;
  topology: { gateways: string[]; collectors: string[]; metricServers: string[]; logServers: string[]; control: string };
  events: Array<{ t: number; what: string; detail: Record<string, unknown> }>;
  clients: unknown;
  samples: Sample[];
  verdicts: Verdict[];
  grew: string[];
};

export type SoakResults = {
  command: string;
  machine: Machine;
  soak?: SoakSection;
  connections?: { startedAt: string; finishedAt: string; auth: string; rows: ConnMemoryRow[] };
};

function seriesOf(samples: Sample[], metric: Metric, ids: string[]) {
  const times = [...new Set(samples.map((s) => s.t))];
  return ids.map((id) => {
    const byT = new Map(samples.filter((s) => s.id === id).map((s) => [s.t, s[metric]]));
    return { name: id, points: times.map((t) => ({ t, v: typeof byT.get(t) === 'number' ? (byT.get(t) as number) : null })) };
  });
}

export function renderSoakSvg(s: SoakSection): string {
  const ids = [...new Set(s.samples.map((x) => x.id))];
  const gws = ids.filter((id) => s.topology.gateways.includes(id));
  const panels: Panel[] = [
    { title: 'RSS per process', unit: 'MiB', scale: MiB, series: seriesOf(s.samples, 'rss', ids) },
    { title: 'Gateway V8 heap used', unit: 'MiB', scale: MiB, series: seriesOf(s.samples, 'heap', gws) },
    { title: 'Redis used_memory', unit: 'MiB', scale: MiB, series: seriesOf(s.samples, 'usedMemory', ['redis']) },
    { title: 'Open file descriptors', unit: 'count', series: seriesOf(s.samples, 'fds', ids) },
    { title: 'Gateway active handles', unit: 'count', series: seriesOf(s.samples, 'handles', gws) },
  ];
  return lineChart(`vigil soak, ${s.minutes} min: ${s.events.map((e) => e.what).join(', ')} (dashed lines)`, panels, s.events.map((e) => ({ t: e.t, label: `${e.t} s: ${e.what}` })));
}

const fmt = (metric: Metric, v: number) => (LIMITS[metric]!.unit === 'bytes' ? `${(v / MiB).toFixed(2)} MiB` : v.toFixed(1));
const mins = (t: number) => `${(t / 60).toFixed(1)}`;

function soakPart(s: SoakSection): string[] {
  const st = s.settings as { sampleS: number; restartEveryS: number; warmupS: number; settleS: number; minSpanS: number; population: number; lifetimeMs: [number, number]; intervalMs: number };
  const out: string[] = [];
  out.push(`## 1. Soak: ${s.minutes} minutes of churn and restarts`);
  out.push('');
  out.push(`**Verdict: ${s.grew.length === 0 ? `nothing grew** (${s.verdicts.length} segments judged).` : `GREW** — ${s.grew.join(', ')}.`}`);
  out.push('');
  out.push(`**What runs.** \`npm start\`'s topology (scripts/run-local.mjs --no-demo): gateways ${s.topology.gateways.join(', ')} behind nginx, collectors ${s.topology.collectors.join(', ')} (sampling every ${st.intervalMs} ms; each watches itself and gateways, and follows the gateways' log files), on a redis-server this benchmark owns. Auth: ${s.auth}.`);
  out.push(`About ${st.population} clients are connected at any time, each living ${st.lifetimeMs[0] / 1000}–${st.lifetimeMs[1] / 1000} s then leaving, replaced at a steady rate; in turn raw socket.io-client over WebSocket, raw over long polling, seed-style raw (subscribes once, on its first connect) and libs/client clients, each from its own loopback address (nginx is sticky by address), each subscribed to one collector's metrics (${s.topology.metricServers.join(', ')}) and one gateway's log lines (${s.topology.logServers.join(', ')}).`);
  out.push(`Every ${st.restartEveryS} s a gateway is restarted (SIGTERM: it drains; then started again with the same command line and environment); ${s.topology.control} is never restarted (run-local stops once every gateway it started is gone) and serves as the control that lives through the whole run. Redis is restarted once (stopped and started empty on the same port).`);
  out.push('');
  out.push(`**What is recorded**, every ${st.sampleS} s: RSS (/proc/<pid>/status) and open fds (/proc/<pid>/fd) of every gateway, collector, nginx (master and workers) and redis-server; the gateways' V8 heap used and active handles (nodejs_heap_size_used_bytes, nodejs_active_handles_total from their Prometheus /metrics) and connections; Redis INFO used_memory and DBSIZE. Gateways and collectors run with \`NODE_OPTIONS=--expose-gc --import=bench/lib/gc-on-signal.mjs\` (an instrument of this benchmark: SIGUSR2 runs a full collection); half a second before each reading they get SIGUSR2, so heap and RSS are read after a full collection: what is retained, not garbage that happens to be lying around (V8 may otherwise not run a full collection for many minutes in a lightly loaded process, and heap used then climbs without any leak).`);
  out.push('');
  out.push(`**How it is judged.** Samples of one process lifetime (one pid), from ${st.warmupS} s on (warm-up), leaving out ${st.settleS} s after the process started and after the Redis restart, form a segment; segments shorter than ${st.minSpanS} s are not judged. A least-squares line through each segment gives a slope, projected to growth per 10 minutes. A segment **grows** when that projection is above its limit AND more than three standard errors of the slope (so noise alone does not fail the run). Limits, per 10 minutes, max(floor, fraction × the segment's median):`);
  out.push('');
  out.push('| metric | floor | fraction of level | why |');
  out.push('| --- | --- | --- | --- |');
  for (const [m, l] of Object.entries(LIMITS)) out.push(`| ${m} | ${l.unit === 'bytes' ? `${l.floor / MiB} MiB` : `${l.floor} ${l.unit}`} | ${l.fraction ? `${l.fraction * 100}%` : '–'} | ${l.why} |`);
  out.push('');
  out.push('Events (seconds from the start of sampling):');
  out.push('');
  out.push('| t (s) | event | detail |');
  out.push('| --- | --- | --- |');
  for (const e of s.events) out.push(`| ${e.t} | ${e.what} | ${Object.entries(e.detail).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  out.push('');
  out.push('![memory over time](SOAK-memory.svg)');
  out.push('');
  out.push('Segments judged (slope projected to 10 minutes ± its standard error; net change = median of the last quarter minus median of the first):');
  out.push('');
  out.push('| process | metric | pid | segment (min) | samples | median | growth / 10 min | ± SE | net change | noise (sd) | limit | grows |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const order = Object.keys(LIMITS);
  const vs = [...s.verdicts].sort((a, b) => a.id.localeCompare(b.id) || order.indexOf(a.metric) - order.indexOf(b.metric) || a.fromS - b.fromS);
  for (const v of vs) {
    out.push(`| ${v.id} | ${v.metric} | ${v.pid} | ${mins(v.fromS)}–${mins(v.toS)} | ${v.n} | ${fmt(v.metric, v.median)} | ${fmt(v.metric, v.per10min)} | ${fmt(v.metric, v.per10minSe)} | ${fmt(v.metric, v.netChange)} | ${fmt(v.metric, v.noiseSd)} | ${fmt(v.metric, v.limit)} | ${v.grows ? '**yes**' : 'no'} |`);
  }
  const judgedPids = new Set(s.verdicts.map((v) => `${v.id} ${v.pid}`));
  const lifetimes = new Map<string, number[]>();
  for (const x of s.samples) {
    if (x.id === 'load clients' || judgedPids.has(`${x.id} ${x.pid}`)) continue;
    const k = `${x.id} (pid ${x.pid})`;
    const span = lifetimes.get(k) ?? [x.t, x.t];
    lifetimes.set(k, [Math.min(span[0]!, x.t), Math.max(span[1]!, x.t)]);
  }
  if (lifetimes.size) out.push('', `Not judged (too little of the lifetime left after warm-up, settling and the Redis restart): ${[...lifetimes].map(([k, [a, b]]) => `${k}, ${mins(a!)}–${mins(b!)} min`).join('; ')}.`);
  out.push('');
  const c = s.clients as { opened?: number; samples?: number; logLines?: number; byKind?: Record<string, Record<string, number>> };
  if (c?.byKind) {
    out.push(`Clients: ${c.opened} opened over the run; ${c.samples} metric samples and ${c.logLines} log lines received in all.`);
    out.push('');
    out.push('| kind | opened | closed | closed without any sample | reconnects | connect errors | subscribe errors |');
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [k, v] of Object.entries(c.byKind)) out.push(`| ${k} | ${v.opened} | ${v.closed} | ${v.closedWithoutSample} | ${v.reconnects} | ${v.connectErrors} | ${v.subscribeErrors} |`);
    out.push('');
    out.push('(Connect errors count every failed attempt, including the retries of a client whose gateway was restarting or while Redis was down.)');
    const refusals = Object.entries((s.clients as { refusals?: Record<string, number> }).refusals ?? {});
    if (refusals.length) out.push('', `Subscriptions refused or failed, by reason: ${refusals.map(([k, n]) => `${k} ×${n}`).join('; ')}.`);
    out.push('');
  }
  out.push(`Measured ${s.startedAt} – ${s.finishedAt}.`);
  return out;
}

function connPart(c: NonNullable<SoakResults['connections']>): string[] {
  const out: string[] = [];
  out.push('## 2. Memory per connection (one gateway)');
  out.push('');
  out.push(`One gateway (services/gateway/dist/cli.js, as \`npm start\` runs it; auth ${c.auth}) on a private redis-server; N socket.io-client WebSocket connections from bench/cluster-clients.ts in 2 client processes, spread over 120 loopback source addresses; idle (connected, nothing subscribed) or each subscribed to one of 100 servers' metrics (registered by bench/publisher-proc.ts with one sample each before the gateway starts; nothing is published meanwhile). A fresh gateway for each row. RSS and heap used are the median of three readings, each one second after a full garbage collection, taken after three more collections 3 s apart (a fresh gateway's RSS stays ~20 MiB above its settled level until then) (the gateway runs with \`--expose-gc --import=bench/lib/gc-on-signal.mjs\`, an instrument of this benchmark: SIGUSR2 runs a full collection), before connecting and after the last client connected; per connection = difference ÷ connections. The per-address connection cap and the handshake rate limit are raised through the environment for this measurement (${Object.entries(RAISED_LIMITS).map(([k, v]) => `${k}=${v}`).join(', ')}): they exist against one abusive address, not a load generator.`);
  out.push('');
  out.push('| connections | kind | connected | failed | connect time (s) | RSS before → after (MiB) | heap before → after (MiB) | RSS per connection (KiB) | heap per connection (KiB) |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of c.rows) {
    out.push(`| ${r.connections.toLocaleString('en')} | ${r.kind} | ${r.connected} | ${r.failed}${r.firstError ? ` (${r.firstError})` : ''} | ${(r.connectMs / 1000).toFixed(1)} | ${(r.rssBeforeBytes / MiB).toFixed(1)} → ${(r.rssAfterBytes / MiB).toFixed(1)} | ${(r.heapBeforeBytes / MiB).toFixed(1)} → ${(r.heapAfterBytes / MiB).toFixed(1)} | ${(r.rssPerConnBytes / 1024).toFixed(1)} | ${(r.heapPerConnBytes / 1024).toFixed(1)} |`);
  }
  out.push('');
  out.push(`Measured ${c.startedAt} – ${c.finishedAt}.`);
  return out;
}

export function renderSoakMd(r: SoakResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('# vigil soak');
  out.push('');
  out.push('Generated by `bench/soak.ts` from `bench/results/soak.json`; every figure below is measured, none is typed in. Reproduce with:');
  out.push('');
  out.push('```sh');
  out.push(r.command.startsWith('npm run soak') ? r.command : 'npm run soak');
  out.push('```');
  out.push('');
  out.push('`--minutes N` runs longer, `--quick` (2.5 minutes, connections at 1,000 only) is a smoke run; `--only=soak|conns` runs one part (the other is kept from the previous results); `--conns=1000,10000` sets the connection counts; `--render-only` judges the recorded samples again and rewrites this page and the chart from the results file. Exit code 1 when anything grew.');
  out.push('');
  out.push(machineTable(m));
  out.push('');
  out.push('The machine is shared (2 cores): other work runs meanwhile, which moves timings, not memory much.');
  out.push('');
  if (r.soak) out.push(...soakPart(r.soak), '');
  if (r.connections) out.push(...connPart(r.connections), '');
  return out.join('\n');
}
