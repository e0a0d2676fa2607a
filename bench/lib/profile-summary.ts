// Summarizes a V8 .cpuprofile (`node --cpu-prof`, or VIGIL_BENCH_CHILD_NODE_ARGS="--cpu-prof
// --cpu-prof-dir=DIR" for a benchmark's child processes) by self time: the functions, the files and
// the packages where the CPU went, each with its share of the profile's samples.
//   node --import tsx bench/lib/profile-summary.ts FILE.cpuprofile [--top=40] [--match=substring]
// --match keeps only samples whose stack includes a frame matching the substring (e.g. a file name),
// to see what one path costs in total, not just its own frames.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

export type Row = { name: string; selfMs: number; share: number };
export type Summary = { totalMs: number; matchedMs: number; functions: Row[]; files: Row[]; packages: Row[] };

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.search(/\/(services|libs|bench)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

function packageOf(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const src = /\/(services|libs)\/([^/]+)\//.exec(url);
  if (src) return `vigil:${src[2]}`;
  if (url.startsWith('node:') || url === '') return '(node/native)';
  return shortUrl(url);
}

function rows(totals: Map<string, number>, totalMs: number, top: number): Row[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: Math.round(ms * 10) / 10, share: Math.round((ms / totalMs) * 1000) / 10 }));
}

export function summarize(profile: CpuProfile, top = 40, match?: string): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const matches = new Map<number, boolean>();
  const stackMatches = (id: number): boolean => {
    const known = matches.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    const own = match !== undefined && (n.callFrame.url.includes(match) || n.callFrame.functionName.includes(match));
    const p = parent.get(id);
    const result = own || (p !== undefined && stackMatches(p));
    matches.set(id, result);
    return result;
  };
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const pkg = new Map<string, number>();
  let totalMs = 0;
  let matchedMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(profile.samples[i]!)!;
    totalMs += ms;
    if (match !== undefined && !stackMatches(n.id)) continue;
    matchedMs += ms;
    const f = n.callFrame;
    const where = shortUrl(f.url);
    const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    file.set(where, (file.get(where) ?? 0) + ms);
    const p = packageOf(f.url);
    pkg.set(p, (pkg.get(p) ?? 0) + ms);
  }
  return { totalMs: Math.round(totalMs), matchedMs: Math.round(matchedMs), functions: rows(fn, totalMs, top), files: rows(file, totalMs, top), packages: rows(pkg, totalMs, top) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, match: { type: 'string' } } });
  for (const path of positionals) {
    const s = summarize(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, Number(values.top ?? 40), values.match);
    console.log(`# ${path}: ${s.totalMs} ms sampled${values.match ? `, ${s.matchedMs} ms under "${values.match}"` : ''}`);
    for (const [title, list] of [['packages', s.packages], ['files', s.files], ['functions', s.functions]] as const) {
      console.log(`\n## by ${title} (self ms, % of all samples)`);
      for (const r of list) console.log(`${String(r.selfMs).padStart(9)}  ${String(r.share).padStart(5)}%  ${r.name}`);
    }
    console.log();
  }
}
