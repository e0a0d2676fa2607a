// Test fixtures: real child processes, a room watcher speaking the adapter's wire format, a pino
// logger that collects lines, and readers of what the collector wrote. Everything a fixture
// starts is released by the teardown it registers on the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { Redis } from 'ioredis';
import {
  Keys,
  LOG_LEVELS,
  NAMESPACE,
  ProcessInfoBody,
  ProcessLogsEvent,
  logsLevelRoom,
  type LogLevel,
  type ProcessLogsBody,
  ProcessInfoEvent,
  RegistryEntry,
  STREAM_FIELD,
  StatusChangeEvent,
  compile,
  metricsRoom,
} from '@vigil/protocol';
import { adapterChannel, closeRedis, createRedis } from '@vigil/store';
import { startRedis, waitFor, type RedisProcess } from '@vigil/testkit';
import { createCollector, type Collector, type CollectorOptions } from '../src/index.js';

type T = { teardown(fn: () => unknown): void };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const checkInfoEvent = compile(ProcessInfoEvent);
export const checkInfoBody = compile(ProcessInfoBody);
export const checkStatusEvent = compile(StatusChangeEvent);
export const checkRegistry = compile(RegistryEntry);

export type Child = { proc: ChildProcess; pid: number; kill(): Promise<void> };

/** Starts `node -e <script> <args…>`; killed (SIGKILL) and awaited at teardown. */
export async function spawnChild(t: T, script = 'setInterval(() => {}, 1000)', args: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, ['-e', script, ...args], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  return { proc, pid: proc.pid!, kill };
}

export function marker(): string {
  return `vigil-test-${randomUUID()}`;
}

/** Busy-loops on one core. */
export const BUSY = 'for (;;) {}';

export type Broadcast = { event: string; payload: Record<string, unknown> & { position?: string } };

/** A plain sharded subscriber on a server's metrics room, like a gateway with a client in it. */
export async function watchRoom(t: T, url: string, serverId: string): Promise<Broadcast[]> {
  const sub = createRedis(url, 'subscriber');
  t.teardown(() => closeRedis(sub));
  const got: Broadcast[] = [];
  const channel = adapterChannel(NAMESPACE, metricsRoom(serverId));
  sub.on('smessageBuffer', (ch: Buffer, message: Buffer) => {
    if (ch.toString() !== channel) return;
    const frame = JSON.parse(message.toString()) as { data: { packet: { data: [string, Broadcast['payload']] } } };
    const [event, payload] = frame.data.packet.data;
    got.push({ event, payload });
  });
  await sub.ssubscribe(channel);
  return got;
}

export type LogLine = { level: number; msg: string; code?: string } & Record<string, unknown>;

/** A pino logger whose lines are collected (pino's test/helper.js sink). */
export function sinkLogger(level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) };
  return { logger: pino({ level }, sink), lines };
}

/** A Redis client for reading what the collector wrote. */
export function reader(t: T, url: string): Redis {
  const r = createRedis(url, 'command');
  t.teardown(() => closeRedis(r));
  return r;
}

export async function registryEntry(r: Redis, serverId: string): Promise<RegistryEntry | null> {
  const raw = await r.hget(Keys.registry, serverId);
  return raw === null ? null : (JSON.parse(raw) as RegistryEntry);
}

export async function latest(r: Redis, serverId: string): Promise<ProcessInfoEvent | null> {
  const raw = await r.get(Keys.latest(serverId));
  return raw === null ? null : (JSON.parse(raw) as ProcessInfoEvent);
}

/** Entries of a stream as [id, parsed body]. */
export async function streamEntries<B = Record<string, unknown>>(r: Redis, key: string): Promise<Array<[string, B]>> {
  const rows = (await r.xrange(key, '-', '+')) as Array<[string, string[]]>;
  return rows.map(([id, fields]) => [id, JSON.parse(fields[fields.indexOf(STREAM_FIELD) + 1]!) as B]);
}

export type StatusBody = { serverId: string; status: string; pid?: number | null; previousPid?: number; reason?: string };

export function statusEvents(got: readonly Broadcast[]): StatusBody[] {
  return got.filter((b) => b.event === 'server-status-changed').map((b) => b.payload as unknown as StatusBody);
}

export const checkLogsEvent = compile(ProcessLogsEvent);

export type LogBroadcast = { room: LogLevel; event: string; payload: ProcessLogsEvent };

/**
 * A plain sharded subscriber on the six level rooms of a server's logs, as gateways with clients
 * at every level would be. Each broadcast is recorded with the room it came through.
 */
export async function watchLogRooms(t: T, url: string, serverId: string): Promise<LogBroadcast[]> {
  const sub = createRedis(url, 'subscriber');
  t.teardown(() => closeRedis(sub));
  const got: LogBroadcast[] = [];
  const rooms = new Map(LOG_LEVELS.map((l) => [adapterChannel(NAMESPACE, logsLevelRoom(serverId, l)), l] as const));
  sub.on('smessageBuffer', (ch: Buffer, message: Buffer) => {
    const room = rooms.get(ch.toString());
    if (room === undefined) return;
    const frame = JSON.parse(message.toString()) as { data: { packet: { data: [string, ProcessLogsEvent] } } };
    const [event, payload] = frame.data.packet.data;
    got.push({ room, event, payload });
  });
  await sub.ssubscribe(...rooms.keys());
  return got;
}

export type LogEntry = { position: string } & ProcessLogsBody;

/** A server's log stream, oldest first. */
export async function logEntries(r: Redis, serverId: string): Promise<LogEntry[]> {
  return (await streamEntries<ProcessLogsBody>(r, Keys.logs(serverId))).map(([position, body]) => ({ position, ...body }));
}

/** Lines the agent wrote itself (drop reports, exits), as opposed to captured ones. */
export function isAgentLine(e: ProcessLogsBody): boolean {
  return e.logData.metadata.stream === 'vigil';
}

/** Waits until the server's log stream holds `count` captured (non-agent) lines, then returns the whole stream. */
export async function waitForLines(r: Redis, serverId: string, count: number, timeoutMs = 15_000): Promise<LogEntry[]> {
  let last: LogEntry[] = [];
  return waitFor(
    async () => {
      last = await logEntries(r, serverId);
      return last.filter((e) => !isAgentLine(e)).length >= count ? last : null;
    },
    { timeoutMs, intervalMs: 50, message: `${count} log lines of ${serverId}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; got ${last.filter((e) => !isAgentLine(e)).length}: …${JSON.stringify(last.slice(-3).map((e) => e.logData.message))}`);
  });
}

/** True while `pid` names a live process (a zombie is not one). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A private directory, removed at teardown. */
export function tempDir(t: T, prefix = 'vigil-collector-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A redis-server of the test's own and a client reading it; each closed at teardown. */
export async function redisFor(t: T, options: { password?: string } = {}): Promise<{ redis: RedisProcess; r: Redis }> {
  const redis = await startRedis(options);
  t.teardown(() => redis.close());
  return { redis, r: reader(t, redis.url) };
}

/** createCollector's options with the test defaults filled in; `level` is the sink logger's. */
export type CollectorSetup = Omit<CollectorOptions, 'redisUrl' | 'collectorId' | 'host' | 'logger'> &
  Partial<Pick<CollectorOptions, 'collectorId' | 'host' | 'logger'>> & { level?: string };

/**
 * A collector on `redisUrl` (id `c`, host `h`, a private state dir, a sink logger whose lines are
 * returned, unless `setup` names its own), stopped at teardown. Not started: a test starts it
 * when it is ready to watch.
 */
export function collectorFor(t: T, redisUrl: string, setup: CollectorSetup): { collector: Collector; logger: Logger; lines: LogLine[] } {
  const { level, ...options } = setup;
  const sink = sinkLogger(level);
  const logger = options.logger ?? sink.logger;
  const stateDir = options.stateDir ?? tempDir(t);
  const collector = createCollector({ collectorId: 'c', host: 'h', ...options, stateDir, redisUrl, logger });
  t.teardown(() => collector.stop());
  return { collector, logger, lines: sink.lines };
}

export type CliRun = { proc: ChildProcess; output: () => string; exited: Promise<number | null> };

/** vigil-collector from its sources, as an operator runs it (no VIGIL_* of the test's own); killed at teardown. */
export function cli(t: T, args: string[], env: Record<string, string> = {}): CliRun {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=vigil:source', 'src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, VIGIL_REDIS_URL: '', VIGIL_CONFIG: '', VIGIL_COLLECTOR_ID: '', VIGIL_HOST: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return { proc, output: () => out, exited };
}
