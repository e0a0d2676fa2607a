// The repository's promises to a newcomer: the README gives exactly two commands, and CI runs
// the very test command the README gives.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

t.test('README quick start has exactly two commands, and .ci/run runs the test one verbatim', async (t) => {
  const readme = readFileSync(root('README.md'), 'utf8');
  const start = readme.indexOf('## Quick start');
  t.ok(start >= 0, 'README has a Quick start section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const commands = [...section.matchAll(/```sh\n([^`]+?)\n\s*```/g)].map((m) => m[1]!.trim());
  t.same(commands, ['npm ci && npm start', 'npm ci && npm test'], 'exactly the run command and the test command');
  const ci = readFileSync(root('.ci/run'), 'utf8');
  t.ok(ci.split('\n').some((line) => !line.trim().startsWith('#') && line.includes(commands[1]!)), '.ci/run runs the README test command');
  const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.start, /scripts\/run-local\.mjs/, 'npm start is the local run script');
  t.match(pkg.scripts.test, /turbo run .*test/, 'npm test runs every package through turbo');
});
