// What vigil-collector prints for a person: --help names every flag and every variable it reads,
// --version the package version, and log lines are readable at a terminal (JSON elsewhere).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatLine } from '../src/log-format.js';
import { cli } from './fixtures.js';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const sources = () => (readdirSync(srcDir) as string[]).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(`${srcDir}${f}`, 'utf8'));

t.test('--help: every flag and every VIGIL_* variable, exit 0', async (t) => {
  const run = cli(t, ['--help']);
  t.equal(await run.exited, 0, 'exit 0');
  const out = run.output();
  t.match(out, /^usage: vigil-collector/);
  const flags = [...readFileSync(`${srcDir}flags.ts`, 'utf8').matchAll(/^\s+'?([a-z][a-z-]*)'?: \{ type: '(?:string|boolean)'/gm)].map((m) => m[1]!);
  t.ok(flags.includes('metrics-port') && flags.includes('version'), 'the scan finds the flags');
  for (const flag of flags) t.match(out, `--${flag}`, `lists --${flag}`);
  const vars = new Set(sources().flatMap((text) => [...text.matchAll(/['"`.](VIGIL_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
  t.ok(vars.has('VIGIL_METRICS_HOST'), 'the scan finds the variables');
  for (const name of vars) t.match(out, name, `lists ${name}`);
});

t.test('--version: the package version, exit 0', async (t) => {
  const run = cli(t, ['--version']);
  t.equal(await run.exited, 0, 'exit 0');
  t.equal(run.output(), `vigil-collector ${VERSION}\n`);
});

t.test('a log line at a terminal: time, level, host and pid, message, fields', async (t) => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 678), pid: 42, host: 'node-1', service: 'vigil-collector', msg: 'redis down', targetId: 'api', err: 'ECONNREFUSED 1.2.3.4', n: 3 });
  t.equal(formatLine(line, false), '03:04:05.678 WARN  [node-1 42] redis down targetId=api err="ECONNREFUSED 1.2.3.4" n=3\n');
  t.match(formatLine(line, true), /\x1b\[33mWARN \x1b\[0m/, 'the level in color when the terminal has colors');
  t.equal(formatLine('not json', false), 'not json', 'anything else passes through');
});

t.test('the CLI at a terminal prints readable lines; through a pipe, JSON with pid and host', async (t) => {
  const args = ['--pid', 'x=notapid'];
  // util-linux `script` gives the CLI a pseudo-terminal as stdout.
  const command = [process.execPath, '--import', 'tsx', '--conditions=vigil:source', 'src/cli.ts', ...args].join(' ');
  const tty = spawn('script', ['-qec', command, '/dev/null'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  tty.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => tty.once('exit', resolve));
  t.equal(code, 1, 'a config error: exit 1');
  t.match(out, new RegExp(`\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*FATAL.* \\[${hostname()} \\d+\\] --pid: expected a positive integer`), `a readable line: ${JSON.stringify(out)}`);
  t.notMatch(out, /"level":/, 'not JSON');

  const piped = cli(t, args);
  t.equal(await piped.exited, 1);
  const json = JSON.parse(piped.output().trim()) as Record<string, unknown>;
  t.match(json, { level: 60, pid: piped.proc.pid, host: hostname(), code: 'VIGIL_ERR_CONFIG_INVALID' }, 'JSON with pid and host');
});
