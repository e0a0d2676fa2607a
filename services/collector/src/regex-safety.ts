// Whether a regular expression from the config may run against text other users control (command
// lines, log lines). A JS regex cannot be stopped once it runs: `(a+)+$` against 31 `a`s holds the
// agent's only thread for ~25 s. So each pattern is checked once, at load, by recheck (a ReDoS
// checker that combines automata analysis with fuzzing and tells exponential from polynomial
// backtracking, with the attack string). Refused:
// - `match`: exponential, and polynomial of degree ≥ 3. Quadratic stays allowed: `node .*server\.js`
//   is quadratic and is what people write; the text it runs on is bounded (MATCH_TEXT_MAX) and the
//   per-tick budget of source-match.ts disables a pattern that is still too slow.
// - `redact`: anything super-linear: a redaction pattern runs on every log line (up to 64 KiB) and
//   cannot be turned off without leaking what it hides.
// Messages never quote the pattern: a redaction pattern may itself be a secret.
import { checkSync, type Diagnostics } from 'recheck';
import { invalid } from './config-schema.js';

/** `alert`: a log rule's pattern, run on every line like `redact`, so held to the same bound. */
export type RegexUse = 'match' | 'redact' | 'alert';

/**
 * Compiles a pattern from the config; a CONFIG_INVALID error for `field` if it does not compile.
 * V8's message quotes the pattern (`Invalid regular expression: /…/: Unterminated group`): only
 * the reason is kept, since a config error never echoes the file.
 */
export function compileConfigRegex(source: string, field: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw invalid(`${field}: invalid regular expression: ${(err as Error).message.split(': ').pop()}`);
  }
}

/** How long the checker may take for one pattern before the pattern is refused as unproven. */
const CHECK_TIMEOUT_MS = 5000;

const verdicts = new Map<string, string | null>();

/** Why the pattern must not be used for `use`, or null when it is safe to run. Results are cached. */
export function unsafeRegexReason(source: string, flags: string, use: RegexUse): string | null {
  const key = `${use}\0${flags}\0${source}`;
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    verdict = judge(diagnose(source, flags), use);
    verdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * recheck's default for checkSync starts a worker thread that spawns its native `recheck agent`,
 * and both stay for the life of the process, after the collector has stopped. Its `pure` backend
 * runs the same checker (same verdicts, same timeout) in this thread and leaves nothing running.
 * recheck reads the choice from the environment at each call; the call is synchronous, so the
 * setting is seen by nothing else and restored at once.
 */
function diagnose(source: string, flags: string): Diagnostics | Error {
  const before = process.env.RECHECK_SYNC_BACKEND;
  process.env.RECHECK_SYNC_BACKEND = 'pure';
  try {
    return checkSync(source, flags, { timeout: CHECK_TIMEOUT_MS });
  } catch (err) {
    return err as Error;
  } finally {
    if (before === undefined) delete process.env.RECHECK_SYNC_BACKEND;
    else process.env.RECHECK_SYNC_BACKEND = before;
  }
}

function judge(d: Diagnostics | Error, use: RegexUse): string | null {
  if (d instanceof Error) return `could not be checked for catastrophic backtracking (${d.message})`;
  if (d.status === 'safe') return null;
  if (d.status === 'unknown') {
    const kind = (d.error as { kind?: string }).kind ?? 'error';
    return `could not be shown free of catastrophic backtracking (checker: ${kind}); simplify it`;
  }
  const c = d.complexity;
  if (c.type === 'polynomial' && use === 'match' && c.degree <= 2) return null;
  const how = c.type === 'exponential' ? 'exponential' : `polynomial (degree ${c.degree})`;
  return `backtracks catastrophically: ${how} time on some inputs of ${d.attack.string.length} characters`;
}
