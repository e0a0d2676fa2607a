#!/usr/bin/env node
// Real passwords for deploy/redis/users.acl: writes a copy of the ACL file in which every
// `>CHANGE-ME-…` placeholder is replaced by the SHA-256 hash (`#…`) of a password, so the file
// Redis reads holds no password in the clear; prints each user's password once, for its
// VIGIL_REDIS_URL. Plain node, no dependencies. `--help` for usage.
import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `usage: node deploy/redis/acl-passwords.mjs --out <file> [--from <acl file>] [--password <user>=<password> …]
  --out <file>                   where to write the ACL file (mode 0600); "-" for stdout
  --from <file>                  the template (default: deploy/redis/users.acl)
  --password <user>=<password>   use this password for <user> instead of a random one (repeatable)
Prints "<user> <password>" for each user it set (on stderr when --out is "-").
Then: redis://<user>:<password>@<host>:6379 (URL-encode the password if you chose one).`;

const PLACEHOLDER = />CHANGE-ME-[^\s]*/;

/** The ACL text with each placeholder replaced; `passwords` maps user → password (missing: random). */
export function withPasswords(template, passwords = new Map()) {
  const set = new Map();
  const lines = template.split('\n').map((line) => {
    const user = /^user\s+(\S+)/.exec(line)?.[1];
    if (!user || !PLACEHOLDER.test(line)) return line;
    const password = passwords.get(user) ?? randomBytes(24).toString('hex');
    set.set(user, password);
    return line.replace(PLACEHOLDER, `#${createHash('sha256').update(password).digest('hex')}`);
  });
  for (const user of passwords.keys()) if (!set.has(user)) throw new Error(`no user ${user} with a placeholder password in the template`);
  return { acl: lines.join('\n'), passwords: set };
}

function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, from: { type: 'string' }, password: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || !values.out) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  const given = new Map(
    (values.password ?? []).map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new Error(`--password: expected <user>=<password>, got "${p.slice(0, at > 0 ? at : 20)}…"`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
  const from = values.from ?? fileURLToPath(new URL('users.acl', import.meta.url));
  const { acl, passwords } = withPasswords(readFileSync(from, 'utf8'), given);
  if (values.out === '-') process.stdout.write(acl);
  else writeFileSync(values.out, acl, { mode: 0o600 });
  const say = values.out === '-' ? (l) => process.stderr.write(`${l}\n`) : (l) => process.stdout.write(`${l}\n`);
  for (const [user, password] of passwords) say(`${user} ${password}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`acl-passwords: ${err.message}`);
    process.exitCode = 2;
  }
}
