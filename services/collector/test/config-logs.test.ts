// Configuration of command targets and logs: defaults as documented, flags, and errors that name
// the exact field.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, VigilError } from '@vigil/protocol';
import { DEFAULT_RESTART, loadConfig, resolveTargets } from '../src/index.js';
import { splitWords } from '../src/shell-words.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-collector-config-logs-'));
let n = 0;
function file(content: unknown): string {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VigilError && err.code === ErrorCodes.CONFIG_INVALID) return err.message;
    throw err;
  }
  return 'did not throw';
}

t.test('defaults: log history, buffer, rate limit, restart policy, state dir', async (t) => {
  const c = loadConfig({ argv: ['--command', 'web=node server.js --port 3000'], env: {} });
  t.same(c.targets, [{ id: 'web', command: 'node server.js --port 3000', intervalMs: 5000 }]);
  t.equal(c.logHistoryMaxLen, 10_000);
  t.equal(c.logBufferLines, 50_000);
  t.equal(c.logBufferBytes, 64 * 1024 * 1024);
  t.same(c.logRateLimit, { linesPerSecond: 1000, burst: 5000 });
  t.equal(c.stateDir, undefined, 'resolved from the collector id by createCollector');
  const [web] = resolveTargets(c.targets, false);
  t.match(web, {
    kind: 'command',
    argv: ['node', 'server.js', '--port', '3000'],
    restart: { maxRestarts: 10, backoffMs: 500, maxBackoffMs: 30_000, resetAfterMs: 60_000 },
    stopGraceMs: 5000,
    logFiles: [],
    logRateLimit: { linesPerSecond: 1000, burst: 5000 },
  });
  t.same(DEFAULT_RESTART, { maxRestarts: 10, backoffMs: 500, maxBackoffMs: 30_000, resetAfterMs: 60_000 });
});

t.test('a file with command targets, log files and log settings; --log-file adds to a target', async (t) => {
  const path = file({
    stateDir: '/var/lib/vigil',
    logBufferLines: 1000,
    defaults: { logHistoryMaxLen: 500, logRateLimit: { linesPerSecond: 50 } },
    targets: [
      { id: 'web', command: ['node', 'server.js'], cwd: '/srv/web', env: { PORT: '3000' }, restart: { maxRestarts: 3 }, logFiles: ['logs/app.log'] },
      { id: 'db', pidfile: '/run/db.pid', logFiles: ['/var/log/db.log'], logRateLimit: { burst: 10 } },
    ],
  });
  const c = loadConfig({ argv: ['--config', path, '--log-file', 'db=/var/log/db-slow.log'], env: {} });
  t.equal(c.stateDir, '/var/lib/vigil');
  t.equal(c.logBufferLines, 1000);
  t.equal(c.logHistoryMaxLen, 500);
  t.same(c.targets[1]!.logFiles, ['/var/log/db.log', '/var/log/db-slow.log']);
  const [web, db] = resolveTargets(c.targets, false, 5000, c.logRateLimit);
  t.match(web, { kind: 'command', argv: ['node', 'server.js'], cwd: '/srv/web', env: { PORT: '3000' }, restart: { maxRestarts: 3, backoffMs: 500 } });
  t.same(web!.logFiles, ['/srv/web/logs/app.log'], 'a relative log file is under the command cwd');
  t.same(web!.logRateLimit, { linesPerSecond: 50, burst: 5000 }, 'defaults.logRateLimit over the built-in default');
  t.same(db!.logRateLimit, { linesPerSecond: 50, burst: 10 }, 'a target sets its own');
});

t.test('errors name the field', async (t) => {
  const load = (targets: unknown[]) => () => loadConfig({ argv: ['--config', file({ targets })], env: {} });
  t.match(message(load([{ id: 'a', pid: 1, command: 'x' }])), /^targets\[0\]: exactly one of pid, pidfile, match, command is required, got pid and command/);
  t.match(message(load([{ id: 'a', command: 'node "x' }])), /^targets\[0\]\.command: unterminated double quote/);
  t.match(message(load([{ id: 'a', command: '   ' }])), /^targets\[0\]\.command: names no program/);
  t.match(message(load([{ id: 'a', command: [] }])), /^targets\[0\]\.command: names no program/);
  t.match(message(load([{ id: 'a', command: ['node', 3] }])), /^targets\[0\]\.command: expected a string or an array of strings/);
  t.match(message(load([{ id: 'a', pid: 1, cwd: '/x' }])), /^targets\[0\]\.cwd: only valid with command/);
  t.match(message(load([{ id: 'a', pid: 1, restart: {} }])), /^targets\[0\]\.restart: only valid with command/);
  t.match(message(load([{ id: 'a', command: 'x', restart: { backoffMs: 100, maxBackoffMs: 50 } }])), /^targets\[0\]\.restart\.maxBackoffMs: must be at least backoffMs/);
  t.match(message(load([{ id: 'a', command: 'x', restart: { retries: 1 } }])), /^targets\[0\]\.restart\.retries: /);
  t.match(message(load([{ id: 'a', pid: 1, logFiles: ['/a', '/a'] }])), /^targets\[0\]\.logFiles\[1\]: "\/a" is listed twice/);
  t.match(message(load([{ id: 'a', pid: 1, logRateLimit: { linesPerSecond: 0 } }])), /^targets\[0\]\.logRateLimit\.linesPerSecond: /);
  t.match(message(() => loadConfig({ argv: ['--pid', 'a=1', '--log-file', 'b=/x.log'], env: {} })), /^--log-file: no target with id "b"/);
  t.match(message(() => loadConfig({ argv: ['--command', 'a'], env: {} })), /^--command: expected <id>=<value>/);
  t.match(message(() => loadConfig({ argv: ['--config', file({ logBufferLines: 0 })], env: {} })), /^logBufferLines: /);
});

t.test('command strings split like shell words, nothing more', async (t) => {
  t.same(splitWords(`node  server.js --name 'a b' "c \\"d\\" $HOME" e\\ f ''`), ['node', 'server.js', '--name', 'a b', 'c "d" $HOME', 'e f', '']);
  t.same(splitWords('sh -c "exec node x.js | tee out"'), ['sh', '-c', 'exec node x.js | tee out']);
  t.throws(() => splitWords("it's"), /unterminated single quote/);
  t.throws(() => splitWords('x\\'), /trailing backslash/);
});
