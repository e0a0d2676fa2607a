// Target resolution: the checks a schema cannot express (one selector per target, unique server
// ids, regexes that compile and are safe to run, commands that split) and each target's selector
// turned into what is watched. The file and createCollector's options go through it alike, so both fail alike.
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { DEFAULT_INTERVAL_MS, DEFAULT_MIN_INTERVAL_MS, SERVER_ID_PATTERN, compile } from '@vigil/protocol';
import { DEFAULT_MAX_INSTANCES, SelfSchema, TargetSchema, invalid, withFieldPath, type Target } from './config-schema.js';
import { DEFAULT_LOG_RATE_LIMIT, type RateLimit } from './rate-limit.js';
import { compileConfigRegex, unsafeRegexReason } from './regex-safety.js';
import { splitWords } from './shell-words.js';
import { DEFAULT_RESTART, DEFAULT_STOP_GRACE_MS, type CommandSpec } from './supervisor.js';

const checkTarget = compile(TargetSchema);
const checkSelf = compile(SelfSchema);
const serverIdRe = new RegExp(SERVER_ID_PATTERN);

/** Checks targets (and the optional self target) and resolves their selectors. */
export function resolveTargets(
  targets: readonly unknown[],
  self: unknown,
  defaultIntervalMs = DEFAULT_INTERVAL_MS,
  defaultRateLimit: RateLimit = DEFAULT_LOG_RATE_LIMIT,
  defaultMinIntervalMs = DEFAULT_MIN_INTERVAL_MS,
): Target[] {
  const out: Target[] = [];
  const owner = new Map<string, string>();
  const claim = (serverId: string, field: string) => {
    if (!serverIdRe.test(serverId)) throw invalid(`${field}: server id "${serverId}" is not valid (pattern ${SERVER_ID_PATTERN})`);
    const other = owner.get(serverId);
    if (other !== undefined) throw invalid(`${field}: duplicate server id "${serverId}" (also ${other})`);
    owner.set(serverId, field);
  };
  if (self !== undefined && self !== false) {
    const why = checkSelf.explain(self);
    if (why) throw invalid(withFieldPath('self', why));
    const s = self as Static<typeof SelfSchema>;
    claim(s.id, 'self.id');
    const intervalMs = s.intervalMs ?? defaultIntervalMs;
    out.push({ kind: 'self', id: s.id, intervalMs, minIntervalMs: minInterval(s.minIntervalMs, defaultMinIntervalMs, intervalMs, 'self') });
  }
  targets.forEach((raw, i) => {
    const at = `targets[${i}]`;
    const why = checkTarget.explain(raw);
    if (why) throw invalid(withFieldPath(at, why));
    const t = raw as Static<typeof TargetSchema>;
    const selectors = (['pid', 'pidfile', 'match', 'command'] as const).filter((k) => t[k] !== undefined);
    if (selectors.length !== 1) {
      const got = selectors.length === 0 ? 'none' : selectors.join(' and ');
      throw invalid(`${at}: exactly one of pid, pidfile, match, command is required, got ${got}`);
    }
    if (t.maxInstances !== undefined && t.match === undefined) throw invalid(`${at}.maxInstances: only valid with match`);
    for (const k of ['cwd', 'env', 'restart', 'stopGraceMs'] as const) {
      if (t[k] !== undefined && t.command === undefined) throw invalid(`${at}.${k}: only valid with command`);
    }
    const intervalMs = t.intervalMs ?? defaultIntervalMs;
    const base = {
      id: t.id,
      intervalMs,
      minIntervalMs: minInterval(t.minIntervalMs, defaultMinIntervalMs, intervalMs, at),
      logFiles: logFiles(t.logFiles ?? [], t.cwd, at),
      logRateLimit: { ...defaultRateLimit, ...t.logRateLimit },
    };
    claim(t.id, `${at}.id`);
    if (t.pid !== undefined) out.push({ ...base, kind: 'pid', pid: t.pid });
    else if (t.pidfile !== undefined) out.push({ ...base, kind: 'pidfile', pidfile: t.pidfile });
    else if (t.command !== undefined) out.push({ ...base, kind: 'command', ...commandSpec(t, at) });
    else {
      const match = compileConfigRegex(t.match!, `${at}.match`);
      const maxInstances = t.maxInstances ?? DEFAULT_MAX_INSTANCES;
      // Slot k ≥ 2 reports as `<id>.<k>`: those ids must be valid and free too.
      for (let k = 2; k <= maxInstances; k++) claim(`${t.id}.${k}`, `${at}.id (instance ${k} of maxInstances ${maxInstances})`);
      // An unsafe pattern disables its target only (source-match.ts reports it); the others run.
      const refused = unsafeRegexReason(match.source, match.flags, 'match');
      out.push(refused === null ? { ...base, kind: 'match', match, maxInstances } : { ...base, kind: 'match', match, maxInstances, refused });
    }
  });
  return out;
}

/**
 * A target's fastest interval for viewers. One set on the target itself must not exceed its
 * interval; the default is capped at it (a target configured at 500 ms keeps its 500 ms).
 */
function minInterval(own: number | undefined, fallback: number, intervalMs: number, at: string): number {
  if (own === undefined) return Math.min(fallback, intervalMs);
  if (own > intervalMs) throw invalid(`${at}.minIntervalMs: must be at most intervalMs (${intervalMs}), got ${own}`);
  return own;
}

function commandSpec(t: Static<typeof TargetSchema>, at: string): CommandSpec {
  let argv: string[];
  if (typeof t.command === 'string') {
    try {
      argv = splitWords(t.command);
    } catch (err) {
      throw invalid(`${at}.command: ${(err as Error).message}`);
    }
  } else if (Array.isArray(t.command) && t.command.every((a) => typeof a === 'string' && a.length <= 65_536)) {
    argv = t.command as string[];
  } else {
    throw invalid(`${at}.command: expected a string or an array of strings`);
  }
  if (argv.length === 0 || argv[0] === '') throw invalid(`${at}.command: names no program`);
  if (argv.length > 4096) throw invalid(`${at}.command: more than 4096 arguments`);
  const restart = { ...DEFAULT_RESTART, ...t.restart };
  if (restart.maxBackoffMs < restart.backoffMs) throw invalid(`${at}.restart.maxBackoffMs: must be at least backoffMs (${restart.backoffMs})`);
  const spec: CommandSpec = { argv, restart, stopGraceMs: t.stopGraceMs ?? DEFAULT_STOP_GRACE_MS };
  if (t.cwd !== undefined) spec.cwd = t.cwd;
  if (t.env !== undefined) spec.env = t.env;
  return spec;
}

/** Log file paths, absolute (a relative one is taken from the command's cwd, else the agent's). */
function logFiles(paths: readonly string[], cwd: string | undefined, at: string): string[] {
  const out: string[] = [];
  paths.forEach((p, i) => {
    const abs = resolve(cwd ?? '.', p);
    if (out.includes(abs)) throw invalid(`${at}.logFiles[${i}]: "${p}" is listed twice`);
    out.push(abs);
  });
  return out;
}
