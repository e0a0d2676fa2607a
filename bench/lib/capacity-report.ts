// bench/README.md's capacity section: the per-unit costs of one Redis node and of a three-master
// cluster measured in one run, then every phase's raw figures and the memory per node.
import type { CapacityReport, KindResult, PhaseResult } from '../capacity.js';
import type { Section } from './report.js';

const f = (x: number | null | undefined, digits = 1): string => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const int = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const kib = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '–' : `${(x / 1024).toFixed(1)} KiB`);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const KIND = { single: 'one Redis node', cluster: 'Redis Cluster, 3 masters + 3 replicas' } as const;

function costRows(runs: KindResult[]): string[][] {
  const row = (label: string, value: (r: KindResult) => string) => [label, ...runs.map(value)];
  return [
    row('server-samples written per second', (r) => int(r.costs.samplesPerSec)),
    row('**Redis CPU per server-sample**, collectors alone (writes phase), all Redis processes (µs)', (r) => `**${f(r.costs.redisUsPerSample, 2)}**`),
    row('… masters only (µs)', (r) => f(r.costs.redisMasterUsPerSample, 2)),
    row('… with gateways and clients on (metrics phase; includes the gateways\' reads) (µs)', (r) => f(r.costs.redisUsPerSampleServing, 2)),
    row('Redis CPU each gateway adds (metrics − writes; cores)', (r) => f(r.costs.redisCoresPerGateway, 3)),
    row('gateway: messages from Redis per second (its rooms × samples/s)', (r) => int(r.costs.gatewayRedisMessagesPerSec)),
    row('**gateway ingress**: bytes read per second, per gateway', (r) => `**${kib(r.costs.gatewayReadBytesPerSec)}/s**`),
    row('… bytes per message from Redis', (r) => int(r.costs.gatewayReadBytesPerMessage)),
    row('gateway CPU per gateway, metrics phase (cores)', (r) => f(r.costs.gatewayCores, 3)),
    row('gateway CPU per process:info delivered (µs)', (r) => f(r.costs.gatewayUsPerDelivery)),
    row('**deliveries per second** (process:info, metrics phase)', (r) => `**${int(r.costs.deliveriesPerSec)}**`),
    row('fleet view, per gateway: gateway CPU (cores)', (r) => f(r.costs.fleetView.gatewayCores, 3)),
    row('fleet view, per gateway: Redis CPU (cores)', (r) => f(r.costs.fleetView.redisCores, 3)),
    row('fleet view, per gateway: bytes read per second', (r) => `${kib(r.costs.fleetView.readBytesPerSec)}/s`),
    row('**fleet client, filtered** (its collector\'s servers): gateway CPU µs per client-second', (r) => `**${f(r.costs.fleetFiltered.gatewayUsPerClientSec)}**`),
    row('… gateway bytes written per client-second', (r) => int(r.costs.fleetFiltered.gatewayBytesPerClientSec)),
    row('… fleet rows / messages per client-second', (r) => `${f(r.costs.fleetFiltered.rowsPerClientSec)} / ${f(r.costs.fleetFiltered.messagesPerClientSec, 2)}`),
    row('**fleet client, whole fleet**: gateway CPU µs per client-second', (r) => `**${f(r.costs.fleetWhole.gatewayUsPerClientSec)}**`),
    row('… gateway bytes written per client-second', (r) => int(r.costs.fleetWhole.gatewayBytesPerClientSec)),
    row('… fleet rows / messages per client-second', (r) => `${f(r.costs.fleetWhole.rowsPerClientSec)} / ${f(r.costs.fleetWhole.messagesPerClientSec, 2)}`),
    row('**Redis memory per server** (used_memory growth without connection buffers ÷ servers; masters)', (r) => `**${int(r.costs.memoryBytesPerServer)} B**`),
    row('… with the replicas', (r) => `${int(r.costs.memoryBytesPerServerWithReplicas)} B`),
    row('… entries in a metrics stream at that point', (r) => int(r.streamEntries)),
  ];
}

function phaseRows(r: KindResult): string[][] {
  return r.phases.map((p: PhaseResult) => [
    p.phase,
    f(p.windowMs / 1000),
    int(p.samplesPerSec),
    `${p.lateTicks} / ${p.failures}`,
    f(p.redis.cores, 3),
    p.redis.nodes.map((n) => `${n.name} ${f(n.cores, 3)}`).join(', '),
    f(p.gateways.cores, 3),
    kib(p.gateways.readBytesPerSec),
    kib(p.gateways.writtenBytesPerSec),
    f(p.collectorsCores, 3),
    f(p.clientsCores, 3),
    int(p.deliveriesPerSec),
    `${f(p.fleetMessagesPerSec)} / ${int(p.fleetRowsPerSec)}`,
    f(p.otherCores, 2),
    p.loadAvg.join(' / '),
  ]);
}

function memoryRows(r: KindResult): string[][] {
  return r.memory.map((m) => [m.name, m.role, kib(m.baseline), kib(m.after), `${kib(m.clientsBaseline)} → ${kib(m.clientsAfter)}`, int(m.servers), int(m.bytesPerServer)]);
}

export function capacitySection(s: Section<CapacityReport>): string {
  const r = s.report;
  const o = r.options;
  const runs = r.runs;
  const detail = runs
    .map(
      (k) => `### ${KIND[k.kind]} (${k.startedAt} – ${k.finishedAt})

${k.connected} of ${o.clients} clients connected and subscribed; ${k.gatewayRooms} (gateway, room) pairs with a client.

${table(
  ['phase', 'window s', 'samples/s', 'late ticks / failed writes', 'redis cores', 'per node (cores)', 'gateways cores', 'gateways read/s', 'gateways wrote/s', 'collectors cores', 'clients cores', 'process:info/s', 'fleet msgs/s / rows/s', 'other load (cores)', 'load avg after'],
  phaseRows(k),
)}

Memory (INFO used_memory before anything was written and after the last phase; connection buffers are
mem_clients_normal + mem_clients_slaves; servers: those whose keys the node holds):

${table(['node', 'role', 'empty', 'after', 'of which connection buffers', 'servers', 'bytes/server (without buffers)'], memoryRows(k))}
${k.notes.length > 0 ? `\n${k.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`,
    )
    .join('\n\n');
  return `## 6. Capacity: one Redis node versus a three-master cluster (\`bench/capacity.ts\`)

**What it measures.** The per-unit costs a capacity model needs (docs/scaling.md, "Capacity model"), on one Redis node
and on a Redis Cluster of three masters with a replica each, with the same load, one after the other in the same run:
${int(o.servers)} servers over ${o.collectors} collectors sampling every ${o.intervalMs / 1000} s, ${int(o.clients)} dashboard
clients (socket.io-client, websocket transport, a real token) on ${o.gateways} vigil gateways (\`buildApp()\`).

**How.** The collectors are emulated, ${o.collectors} of them in ${o.collectorProcs} processes: each has its own Redis
connection (a cluster client on the cluster) and \`BatchWriter\`, and writes its servers' tick as the collector's publisher
does (one write per tick: a sample per server, XADD to its bounded metrics stream + SET latest + broadcast to its room;
heartbeats every tick; registry entries at start and every 15 s; no positions read back); samples are synthetic, in the
sampler's JSON shape; the collectors' ticks are staggered over the interval. Client c is on gateway c mod ${o.gateways},
watches ${o.metricsPerClient} servers of collector c mod ${o.collectors} (\`subscribe-server-metrics\`) and, from the second
fleet phase on, that collector's list (\`subscribe-fleet { filter: { collector } }\`). Phases, each a ${o.warmupMs / 1000} s
warm-up then a ${o.windowMs / 1000} s window:

- **writes**: the collectors alone, before any gateway starts (Redis CPU per server-sample);
- **metrics**: plus the gateways and the clients on their metrics rooms only;
- **fleet-view**: one fleet subscriber per gateway, so each gateway's fleet view reads the fleet from Redis once a second;
- **fleet-filtered**: every client on its filtered fleet list;
- **fleet-whole**: ${o.wholeFleetClients} of them re-subscribe to the whole fleet, unfiltered.

CPU from \`/proc/<pid>/stat\` (10 ms ticks) for every process (Redis: every redis-server, replicas included); gateway bytes
from \`/proc/<pid>/io\` (rchar / wchar: every socket read and write; at steady state what a gateway reads comes from Redis,
clients send next to nothing, and what it writes goes to clients); Redis memory from INFO \`used_memory\` minus the same
node's figure before anything was written. A fleet cost is the difference between two phases divided by what the later
phase added (gateways with a view, filtered clients, whole-fleet clients): noise can make a small difference negative.
A gateway polls Redis by itself every second (the stale sweeper and stale alerts: with samples every 5 s, up to 1,000
registry entries a second per gateway), so its ingress is not only the rooms' messages.
The run is short, so the metrics streams hold only a few entries (row "entries"): memory here is not the steady state;
the steady state per server is in "Redis memory per server" above. Every process shares the machine's 2 cores with each
other and with other engineers' work ("other load"): the cost per unit is what to read, not a ceiling.

${table(['per unit (metrics phase unless said)', ...runs.map((k) => KIND[k.kind])], costRows(runs))}

${detail}

Measured ${s.startedAt} – ${s.finishedAt} with \`${s.command}\`; other load just before: ${f(s.otherCoresBefore, 2)} cores, load average
after ${s.loadAvgAfter.join(' / ')}.`;
}
