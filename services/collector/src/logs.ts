// Everything one run does with log lines: a channel per server that has logs (a supervised
// command's output, log files), the followers of its files, the shipper that writes the lines,
// the file positions remembered across runs, and a once-a-second round (drop reports, saving
// positions). Created by start(), released by close().
import type { Logger } from 'pino';
import type { Target } from './config-schema.js';
import { FileFollower } from './follower-file.js';
import { LogChannel, type LogChannelOptions } from './log-channel.js';
import { LogShipper, type LogCounters } from './log-shipper.js';
import { PositionStore, type Positions } from './positions.js';
import { DEFAULT_LOG_RATE_LIMIT } from './rate-limit.js';
import type { Redactor } from './redact.js';
import type { Writer } from './serial-writer.js';

const HOUSEKEEPING_MS = 1000;

export type LogsOptions = {
  targets: readonly Target[];
  writer: Writer;
  isConnected: () => boolean;
  /** Adapter uid of the broadcasts. */
  uid: string;
  maxLen: number;
  bufferLines: number;
  bufferBytes: number;
  stateDir: string;
  pollMs: number;
  logger: Logger;
  counters: LogCounters;
  /** Applied to every captured line, as `redact.logs` says. */
  redactor: Redactor;
  /** Where a server's captured lines are told to its log alert rules; undefined for a server without any. */
  onLine?: (serverId: string) => LogChannelOptions['onLine'];
};

type Followed = { targetId: string; follower: FileFollower };

export class Logs {
  readonly #o: LogsOptions;
  readonly #shipper: LogShipper;
  readonly #channels = new Map<string, LogChannel>();
  #followed: Followed[] = [];
  #positions: PositionStore | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: LogsOptions) {
    this.#o = options;
    this.#shipper = new LogShipper({
      writer: options.writer,
      isConnected: options.isConnected,
      maxLines: options.bufferLines,
      maxBytes: options.bufferBytes,
      logger: options.logger,
      counters: options.counters,
      onRoom: () => this.#reportDrops(),
    });
    for (const t of options.targets) {
      if (t.kind !== 'command' && !t.logFiles?.length) continue;
      this.#channels.set(
        t.id,
        new LogChannel({
          serverId: t.id,
          uid: options.uid,
          maxLen: options.maxLen,
          rateLimit: t.logRateLimit ?? DEFAULT_LOG_RATE_LIMIT,
          shipper: this.#shipper,
          counters: options.counters,
          logger: options.logger,
          redactor: options.redactor,
          onLine: options.onLine?.(t.id),
        }),
      );
    }
  }

  /** The channel of a target that has logs. */
  channel(targetId: string): LogChannel | undefined {
    return this.#channels.get(targetId);
  }

  get pending(): number {
    return this.#shipper.pending;
  }

  get pendingBytes(): number {
    return this.#shipper.pendingBytes;
  }

  /** Redis is reachable again. */
  wake(): void {
    this.#shipper.wake();
  }

  async start(): Promise<void> {
    const withFiles = this.#o.targets.filter((t) => t.logFiles?.length);
    if (withFiles.length > 0) {
      try {
        this.#positions = await PositionStore.open(this.#o.stateDir, this.#o.logger);
      } catch (err) {
        this.#o.logger.warn({ stateDir: this.#o.stateDir, err: (err as Error).message }, 'no state directory: log positions will not be remembered');
      }
    }
    for (const t of withFiles) {
      const channel = this.#channels.get(t.id)!;
      for (const path of t.logFiles!) {
        const follower = new FileFollower({
          path,
          sink: channel.sink('file', path),
          resume: this.#positions?.remembered(t.id, path) ?? null,
          pollMs: this.#o.pollMs,
          logger: this.#o.logger,
          onProblem: (problem) => channel.notice('warn', `vigil: ${problem}`, { file: path }),
        });
        follower.start();
        this.#followed.push({ targetId: t.id, follower });
      }
    }
    if (this.#channels.size > 0) this.#timer = setInterval(() => this.#housekeep(), HOUSEKEEPING_MS);
  }

  /** Writes what it can of the buffer, remembers the positions, and stops. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // Files are no longer read (their fds close); lines already read still go out below.
    await Promise.all(this.#followed.map((f) => f.follower.stop()));
    await this.#shipper.close();
    await this.#savePositions();
    this.#followed = [];
  }

  #housekeep(): void {
    this.#reportDrops();
    void this.#savePositions();
  }

  #reportDrops(): void {
    const now = Date.now();
    for (const c of this.#channels.values()) c.reportDrops(now);
  }

  #savePositions(): Promise<void> {
    if (!this.#positions || this.#followed.length === 0) return Promise.resolve();
    const positions: Positions = {};
    for (const { targetId, follower } of this.#followed) {
      const p = follower.position();
      if (p) (positions[targetId] ??= {})[follower.path] = p;
    }
    return this.#positions.save(positions);
  }
}
