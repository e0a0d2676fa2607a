// Is the build there and newer than its sources? If not, `npm run build` (turbo: tsc per package).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The packages a local run executes, each with the output it needs (the dashboard if it exists). */
const OUTPUTS = [
  ['libs/protocol', 'dist/index.js'],
  ['libs/store', 'dist/index.js'],
  ['libs/client', 'dist/index.js'],
  ['services/gateway', 'dist/cli.js'],
  ['services/collector', 'dist/cli.js'],
  ['services/dashboard', 'dist/index.html'],
];

function newestMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Why a build is needed, or null when every output exists and is newer than its sources. */
export function buildNeeded(root) {
  for (const [pkg, output] of OUTPUTS) {
    if (!existsSync(join(root, pkg, 'package.json'))) continue;
    let built;
    try {
      built = statSync(join(root, pkg, output)).mtimeMs;
    } catch {
      return `${pkg}/${output} is missing`;
    }
    if (newestMtime(join(root, pkg, 'src')) > built) return `${pkg}/src changed since ${pkg}/${output} was built`;
  }
  return null;
}

export function runBuild(root) {
  return new Promise((resolve, reject) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const child = spawn(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`npm run build failed (${signal ?? `exit code ${code}`})`));
    });
  });
}
