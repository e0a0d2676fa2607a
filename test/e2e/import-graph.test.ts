// The import graph of every package's source has no circles: a contract file that imports its
// own implementations (or two modules that need each other) is a design to untangle, not to grow.
// Type-only imports count too: they are how such circles start.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = ['libs/protocol', 'libs/store', 'libs/client', 'libs/testkit', 'services/gateway', 'services/collector', 'services/dashboard'];
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** './x.js' from a .ts file means './x.ts' (or .tsx, or a folder's index). */
function resolveImport(from: string, spec: string, files: Set<string>): string | null {
  const base = resolve(dirname(from), spec).replace(/\.(m?js|jsx)$/, '');
  for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) if (files.has(candidate)) return candidate;
  return null;
}

/** Every elementary circle reachable in the graph, as a path of files (each reported once). */
function circles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        found.set([...cycle].sort().join('|'), cycle);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return [...found.values()];
}

for (const pkg of SOURCES) {
  t.test(`${pkg}/src has no import circles`, async (t) => {
    const files = sourceFiles(join(root, pkg, 'src'));
    t.ok(files.length > 0, 'it has sources');
    const known = new Set(files);
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const targets = [...text.matchAll(IMPORT)].map((m) => resolveImport(file, m[1]!, known)).filter((x): x is string => x !== null);
      graph.set(file, targets);
    }
    const found = circles(graph).map((c) => [...c, c[0]!].map((f) => relative(join(root, pkg, 'src'), f)).join(' → '));
    t.same(found, [], 'no circles');
  });
}

t.test('the circle finder finds a circle (so an empty answer means something)', async (t) => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  t.same(circles(graph).map((c) => c.join('')), ['abc']);
});
