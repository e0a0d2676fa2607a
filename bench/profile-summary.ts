// Summarizes a V8 .cpuprofile (from `--cpu-prof`) by self time: the functions the process spent its
// samples in, heaviest first, and the same grouped by file. Used to find what a collector tick costs:
//   VIGIL_BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --only=sampling --sizes=1000 --no-write
//   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.<...>.cpuprofile [--top=40] [--skip-ms=5000] [--json]
// Without --skip-ms the summary starts at the first sample inside pidusage's readProcFile (the first tick).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type Row = { name: string; ms: number; share: number };

/** Self time per function and per file, in ms, heaviest first; idle and GC are their own rows. */
export function summarize(profile: Profile, skipMs = 0): { totalMs: number; byFunction: Row[]; byFile: Row[] } {
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= skipMs * 1000) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = nodeById.get(id)!.callFrame;
    const short = shorten(url);
    const name = `${functionName || '(anonymous)'} ${short}${short ? `:${lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    file.set(short || functionName, (file.get(short || functionName) ?? 0) + us);
    total += us;
  }
  const rows = (m: Map<string, number>): Row[] =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000, share: us / total })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, byFunction: rows(fn), byFile: rows(file) };
}

/** Who a sample's CPU is spent for: the nearest frame on its stack owned by one of these (GC and idle are their own). */
const OWNERS: Array<[string, RegExp]> = [
  ['pidusage (its /proc reads and parsing)', /node_modules\/pidusage\//],
  ['ioredis (encoding commands, socket writes, replies)', /node_modules\/(ioredis|redis-parser|denque|standard-as-callback)\//],
  ['vigil (collector and store code)', /(services\/collector|libs\/store|libs\/protocol)\//],
  ['bench harness', /\/bench\//],
];

/** Busy time by owner, in ms and as a share of the busy (not idle) time, heaviest first. */
export function byOwner(profile: Profile, skipMs = 0): Row[] {
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerOf = new Map<number, string>();
  const owner = (id: number): string => {
    const known = ownerOf.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = nodeById.get(id)!.callFrame;
    let o: string;
    if (functionName === '(garbage collector)' || functionName === '(idle)') o = functionName;
    else {
      const hit = OWNERS.find(([, re]) => re.test(url));
      const up = parent.get(id);
      o = hit ? hit[0] : up === undefined ? 'other (runtime, timers, startup)' : owner(up);
    }
    ownerOf.set(id, o);
    return o;
  };
  const ms = new Map<string, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= skipMs * 1000) ms.set(owner(id), (ms.get(owner(id)) ?? 0) + dt / 1000);
  });
  ms.delete('(idle)');
  const busy = [...ms.values()].reduce((a, b) => a + b, 0);
  return [...ms].map(([name, v]) => ({ name, ms: v, share: v / busy })).sort((a, b) => b.ms - a.ms);
}

/** Ms from the profile's start to its first sample with a call of `fn` on the stack (pidusage's readProcFile: the first tick). */
export function firstSampleMs(profile: Profile, fn: string): number {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
  const matches = (id: number | undefined): boolean => id !== undefined && (nodeById.get(id)!.callFrame.functionName === fn || matches(parent.get(id)));
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (matches(profile.samples[i])) return t / 1000;
  }
  return 0;
}

function shorten(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.search(/(libs|services|bench)\//);
  return src >= 0 ? url.slice(src) : url.replace(/^node:/, 'node:');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const flag = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const top = flag('top', 40);
  /** Startup (module loading) is not a tick: skip the profile's first ms (default: up to the first pidusage sample). */
  const skipFlag = flag('skip-ms', Number.NaN);
  const json = process.argv.includes('--json');
  for (const f of files) {
    const profile = JSON.parse(readFileSync(f, 'utf8')) as Profile;
    const skipMs = Number.isNaN(skipFlag) ? firstSampleMs(profile, 'readProcFile') : skipFlag;
    if (json) {
      console.log(JSON.stringify({ file: f, skipMs: Math.round(skipMs), owners: byOwner(profile, skipMs) }));
      continue;
    }
    const s = summarize(profile, skipMs);
    const line = (r: Row) => `${r.ms.toFixed(1).padStart(9)} ms ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}`;
    console.log(`${f}: ${s.totalMs.toFixed(0)} ms sampled\n-- by file`);
    for (const r of s.byFile.slice(0, 25)) console.log(line(r));
    console.log('-- by function');
    for (const r of s.byFunction.slice(0, top)) console.log(line(r));
    console.log('-- busy time by owner (nearest owned frame on the stack)');
    for (const r of byOwner(profile, skipMs)) console.log(line(r));
  }
}
