// `vigil-gateway --help` and `--version` as an operator runs them, and vigil_build_info on
// /metrics. The variables --help must list are found in the sources (every `env.NAME` and quoted
// `VIGIL_*` name), so a new variable that --help misses fails here.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedis } from '@vigil/testkit';
import { startGateway } from './helpers.js';

const entry = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const execFileAsync = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The CLI with only PATH in its environment: no VIGIL_* of the surrounding shell. */
async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const argv = ['--import', 'tsx', '--conditions=vigil:source', entry, ...args];
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, argv, { env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : null, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function envNamesInSources(): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(srcDir, { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(`${srcDir}${file}`, 'utf8');
    for (const m of text.matchAll(/\benv(?:\.([A-Z_][A-Z0-9_]*)|\[\s*['"]([A-Z_][A-Z0-9_]*)['"]\s*\])/g)) names.add((m[1] ?? m[2])!);
    for (const m of text.matchAll(/['"`](VIGIL_[A-Z0-9_]+)['"`]/g)) names.add(m[1]!);
  }
  return names;
}

t.test('--help: usage with every variable the gateway reads, exit 0, nothing started', async (t) => {
  const { code, out } = await run(['--help']);
  t.equal(code, 0, 'exit 0');
  t.match(out, /^usage: vigil-gateway/, 'usage first');
  const names = envNamesInSources();
  t.ok(names.has('VIGIL_REDIS_URL') && names.has('VIGIL_LOG_LEVEL'), 'the source scan finds names');
  for (const name of names) t.match(out, new RegExp(`^  ${name}$`, 'm'), `lists ${name}`);
  t.notMatch(out, /listening/, 'does not start a gateway');
});

t.test('--version: the package version, exit 0', async (t) => {
  const { code, out } = await run(['--version']);
  t.equal(code, 0, 'exit 0');
  t.equal(out, `vigil-gateway ${VERSION}\n`);
});

t.test('/metrics: vigil_build_info with version and Node.js', async (t) => {
  const redis = await startRedis();
  const gw = await startGateway(redis.url, { gatewayId: 'gw-build', metricsPort: 0 });
  t.teardown(async () => {
    await gw.close();
    await redis.close();
  });
  const body = await (await fetch(gw.app.metricsAddress()!.url)).text();
  t.match(body, new RegExp(`^vigil_build_info\\{version="${VERSION}",node="${process.version}",gateway="gw-build"\\} 1$`, 'm'));
});
