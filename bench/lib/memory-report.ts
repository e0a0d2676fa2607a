// bench/README.md's section on Redis memory per server (bench/redis-memory.ts), and the sizing
// arithmetic that k8s/20-redis.yaml and docker-compose.yml follow (docs/scaling.md repeats it).
import type { MemoryReport, MemoryRow } from '../redis-memory.js';
import type { Section } from './report.js';

const kb = (bytes: number) => (bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 });
const mb = (bytes: number) => (bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 2 });

function row(r: MemoryRow): string {
  const k = r.perKey;
  const cells = [
    `${r.intervalMs / 1000} s`,
    r.logsPerSec === 0 ? 'none' : `${r.logsPerSec}/s`,
    `${r.entries.metrics} / ${r.entries.logs} / ${r.entries.events}`,
    kb(r.bytesPerServer),
    kb(k.metrics),
    kb(k.logs),
    kb(k.events),
    `${k.latest} / ${k.registry} / ${k.heartbeat}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

export function memorySection(s: Section<MemoryReport>): string {
  const m = s.report;
  const o = m.options;
  const worst = (logs: boolean) => Math.max(...m.rows.filter((r) => (r.logsPerSec > 0) === logs).map((r) => r.bytesPerServer), 0);
  return `## 3. Redis memory per server (\`bench/redis-memory.ts\`)

**What it measures.** For each sampling interval and log rate, ${o.servers} servers' worth of ${o.simulatedSeconds / 3600} h of what a
collector writes (registry entry, heartbeat, latest sample, metrics / logs / events streams, with the collector's
bodies and bounds: \`XADD … MAXLEN ~\` ${m.bounds.metrics} samples, ${m.bounds.logs.toLocaleString('en-US')} log lines, ${m.bounds.events} status events; stream ids
one interval apart, as a live collector's are) is written to a private redis-server ${m.redisVersion}; then INFO memory's
\`used_memory\` growth ÷ servers, and \`MEMORY USAGE … SAMPLES 0\` per key (the shared registry hash and heartbeat set:
their share per server). Log lines are ${o.logMessageChars}-character messages. Measured with \`${s.command}\`.

| interval | logs | entries (metrics / logs / events) | KiB per server (used_memory) | metrics KiB | logs KiB | events KiB | latest / registry / heartbeat B |
| --- | --- | --- | --- | --- | --- | --- | --- |
${m.rows.map(row).join('\n')}

A client session (10 rooms) holds ${m.sessionBytes} B, for its TTL (120 s by default) after the client leaves.

**Reading it.** At steady state a server's memory is set by the stream bounds, not by the interval: ${m.bounds.metrics} samples are
${m.bounds.metrics} s of history at 1 s and an hour at 5 s, the same bytes. Logs dominate as soon as a server has any: the log
stream fills to its bound (${m.bounds.logs.toLocaleString('en-US')} lines) at any steady rate (in ${Math.round(m.bounds.logs / 10 / 60)} min at 10 lines/s). So the sizing unit is
**${mb(worst(false))} MiB per server without logs, ${mb(worst(true))} MiB with logs** (the worst rows above), for every server
Redis holds: the live ones and those kept for the retention after they left (\`VIGIL_SERVER_RETENTION_MS\`).

**Sizing** (k8s/20-redis.yaml, docker-compose.yml; docs/scaling.md): maxmemory ≥ (servers with logs × ${mb(worst(true))} MiB + servers
without × ${mb(worst(false))} MiB + sessions × ${m.sessionBytes} B) × 1.25 (allocator fragmentation, the \`~\` slack of a
trim, pub/sub and client buffers).`;
}
