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

export type RegexUse = 'match' | 'redact';

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

function diagnose(source: string, flags: string): Diagnostics | Error {
  try {
    return checkSync(source, flags, { timeout: CHECK_TIMEOUT_MS });
  } catch (err) {
    return err as Error;
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
