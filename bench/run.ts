// Runs the benchmarks and writes bench/results/latest.json and bench/README.md.
//   node --import tsx --conditions=vigil:source bench/run.ts [--only=sampling|fanout|memory|host|interval|fleet|capacity] [--render-only] [size flags]
// `--only=fleet` (bench/fleet.ts) writes bench/results/fleet.json and leaves README.md as it is.
// Before each benchmark it waits (at most a minute) for other work on the machine to calm down, and
// records how busy the machine was, since it is shared.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SAMPLING, runCollectorSampling } from './collector-sampling.js';
import { DEFAULT_FANOUT, runFanout } from './fanout.js';
import { DEFAULT_MEMORY, parseMemoryFlags, runRedisMemory } from './redis-memory.js';
import { DEFAULT_HOST_SAMPLING, runHostSampling } from './host-sampling.js';
import { DEFAULT_INTERVAL, runCollectorInterval } from './collector-interval.js';
import { DEFAULT_CAPACITY, runCapacity } from './capacity.js';
import { parseFleetFlags, runFleet } from './fleet.js';
import { killAll } from './lib/children.js';
import { waitForQuiet } from './lib/cpu.js';
import { parseRunFlags } from './lib/flags.js';
import { describeMachine } from './lib/machine.js';
import { renderReadme, type Results, type SamplingBefore, type SamplingProfile, type Section } from './lib/report.js';

const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));
const FLEET_RESULTS = fileURLToPath(new URL('./results/fleet.json', import.meta.url));
const README = fileURLToPath(new URL('./README.md', import.meta.url));
/** Optional: a sampling run of an earlier collector, shown beside the current one. */
const SAMPLING_BEFORE = fileURLToPath(new URL('./results/sampling-before.json', import.meta.url));
/** Optional: where the sampling workers' time goes, from a profiled run (bench/profile-summary.ts). */
const SAMPLING_PROFILE = fileURLToPath(new URL('./results/sampling-profile.json', import.meta.url));
const COMMAND = 'npm run bench';
/** Other work above this many cores makes the run wait (bounded) before measuring. */
const QUIET_CORES = 0.3;
const QUIET_WAIT_MS = 60_000;

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function section<T>(command: string, run: () => Promise<T>): Promise<Section<T>> {
  const otherCoresBefore = await waitForQuiet(QUIET_CORES, QUIET_WAIT_MS, log);
  const startedAt = new Date().toISOString();
  const report = await run();
  return { command, startedAt, finishedAt: new Date().toISOString(), otherCoresBefore, loadAvgAfter: loadavg().map((l) => Math.round(l * 100) / 100), report };
}

const USAGE = `usage: npm run bench -- [--only=sampling|fanout|memory|host|interval|fleet|capacity] [--render-only] [--no-write] [size flags]
  collector sampling: --sizes=100,1000 --interval=200 --warmup-ticks=5 --ticks=50 --per-pid-ticks=15 --repeats=4
  fan-out:            --clients=1000 --servers=100 --gateways=2 --client-procs=2 --collectors=10
                      --rates=10,20,30,40,50,60 --warmup=2 --window=4 --p99-limit=50 --stop-p99=1000
                      --retry-above=0.5 --quiet-budget=60 --stacks=vigil,baseline,ws
  redis memory:       --memory-servers=20 --memory-seconds=3600
  fleet summary:      --only=fleet --servers=10000 --clients=10 --window=10 (results/fleet.json)
  collector interval: --interval-targets=200 --interval-configured=1000 --interval-fast=100
                      --interval-warmup=3 --interval-window=20 --interval-repeats=2
  capacity:           --capacity-servers=10000 --capacity-collectors=100 --capacity-clients=1000
                      --capacity-gateways=2 --capacity-interval=5000 --capacity-metrics-per-client=3
                      --capacity-whole-fleet=10 --capacity-collector-procs=4 --capacity-client-procs=2
                      --capacity-warmup=6 --capacity-window=15 --capacity-redis=single,cluster
                      (smoke: --only=capacity --no-write --capacity-servers=500 --capacity-clients=50)
  (defaults shown; each flag also as VIGIL_BENCH_<NAME>, e.g. VIGIL_BENCH_CLIENTS=100). Writes
  bench/results/latest.json and bench/README.md unless --no-write. A quick smoke run of one part,
  printing JSON only: node --import tsx --conditions=vigil:source bench/fanout.ts --clients=20 --servers=5 --rates=5
`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const flags = parseRunFlags(argv, { sampling: DEFAULT_SAMPLING, fanout: DEFAULT_FANOUT, interval: DEFAULT_INTERVAL, capacity: DEFAULT_CAPACITY });
  const previous: Partial<Results> = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Results) : {};
  const before = existsSync(SAMPLING_BEFORE) ? (JSON.parse(readFileSync(SAMPLING_BEFORE, 'utf8')) as SamplingBefore) : null;
  const profile = existsSync(SAMPLING_PROFILE) ? (JSON.parse(readFileSync(SAMPLING_PROFILE, 'utf8')) as SamplingProfile) : null;
  if (flags.renderOnly) {
    if (!previous.machine) throw new Error(`--render-only: no results in ${RESULTS}`);
    writeFileSync(README, renderReadme(previous as Results, before, profile));
    log(`wrote ${README} from ${RESULTS}`);
    return;
  }
  if (flags.only === 'fleet') {
    // Its own results file: the fleet summary is not (yet) part of README.md.
    const fleet = { machine: describeMachine(), ...(await section(`${COMMAND} -- ${argv.join(' ')}`, () => runFleet(parseFleetFlags(argv), log))) };
    if (flags.write) {
      writeFileSync(FLEET_RESULTS, JSON.stringify(fleet, null, 2) + '\n');
      log(`wrote ${FLEET_RESULTS}`);
    } else console.log(JSON.stringify(fleet, null, 2));
    return;
  }
  const machine = describeMachine();
  const command = argv.length > 0 ? `${COMMAND} -- ${argv.join(' ')}` : COMMAND;
  const results: Results = {
    command: COMMAND,
    machine,
    sampling: previous.sampling ?? null,
    fanout: previous.fanout ?? null,
    memory: previous.memory ?? null,
    host: previous.host ?? null,
    interval: previous.interval ?? null,
    capacity: previous.capacity ?? null,
  };
  const runs = (name: NonNullable<typeof flags.only>) => flags.only === null || flags.only === name;
  if (runs('sampling')) results.sampling = await section(command, () => runCollectorSampling(flags.sampling, log));
  if (runs('fanout')) results.fanout = await section(command, () => runFanout(flags.fanout, log));
  if (runs('memory')) results.memory = await section(command, () => runRedisMemory(parseMemoryFlags(argv, DEFAULT_MEMORY), log));
  if (runs('host')) results.host = await section(command, () => runHostSampling(DEFAULT_HOST_SAMPLING, log));
  if (runs('interval')) results.interval = await section(command, () => runCollectorInterval(flags.interval, log));
  if (runs('capacity')) results.capacity = await section(command, () => runCapacity(flags.capacity, log));
  if (!flags.write) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(README, renderReadme(results, before, profile));
  log(`wrote ${RESULTS} and ${README}`);
}

process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.once('SIGTERM', () => {
  killAll();
  process.exit(143);
});
try {
  await main();
} finally {
  killAll();
}
