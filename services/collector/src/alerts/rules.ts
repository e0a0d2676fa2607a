// Alert rules as the evaluator uses them: each target's rules (the defaults, replaced by a rule of
// the target with the same id), checked for what a schema cannot say (unique ids, the reserved
// `stale`, log patterns that compile and cannot backtrack catastrophically), with their defaults
// filled in. A problem is a CONFIG_INVALID error that names the field.
import {
  ALERT_RULE_KINDS,
  AlertRuleSchemas,
  compile,
  DEFAULT_ALERT_LOG_LEVEL,
  DEFAULT_RULE_SEVERITY,
  STALE_RULE_ID,
  type AlertRule,
  type AlertSeverity,
  type LogLevel,
} from '@vigil/protocol';
import { invalid, withFieldPath } from '../config-schema.js';

const checks = Object.fromEntries(ALERT_RULE_KINDS.map((k) => [k, compile(AlertRuleSchemas[k])])) as Record<string, ReturnType<typeof compile>>;

/** A rule as written, checked against the schema of its kind. */
function checkRule(raw: unknown, where: string): AlertRule {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where}: expected an object`);
  if (typeof kind !== 'string' || !ALERT_RULE_KINDS.includes(kind as never)) {
    throw invalid(`${where}.kind: expected one of ${ALERT_RULE_KINDS.join(', ')}`);
  }
  const why = checks[kind]!.explain(raw);
  if (why) throw invalid(withFieldPath(where, why));
  return raw as AlertRule;
}
import { compileConfigRegex, unsafeRegexReason } from '../regex-safety.js';

type Common = { id: string; name: string; severity: AlertSeverity };
export type Rule = Common &
  (
    | { kind: 'cpu'; abovePercent: number; forMs: number }
    | { kind: 'memory'; aboveBytes: number; forMs: number }
    | { kind: 'exited'; forMs: number }
    | { kind: 'restarts'; moreThan: number; windowMs: number }
    | { kind: 'logs'; level: LogLevel; pattern: RegExp | null; moreThan: number; windowMs: number }
  );

/** Rules of one target: `defaults` (field `defaultsField`) with the target's own (field `field`) over them. */
export function resolveRules(defaults: readonly unknown[], own: readonly unknown[], field: string, defaultsField: string): Rule[] {
  const byId = new Map<string, Rule>();
  const check = (rules: readonly unknown[], at: string) => {
    const seen = new Set<string>();
    rules.forEach((raw, i) => {
      const where = `${at}[${i}]`;
      const r = checkRule(raw, where);
      if (r.id === STALE_RULE_ID) throw invalid(`${where}.id: "${STALE_RULE_ID}" is raised by gateways; choose another id`);
      if (seen.has(r.id)) throw invalid(`${where}.id: duplicate rule id "${r.id}"`);
      seen.add(r.id);
      byId.set(r.id, resolveRule(r, where));
    });
  };
  check(defaults, defaultsField);
  check(own, field);
  return [...byId.values()];
}

function resolveRule(r: AlertRule, where: string): Rule {
  const common = { id: r.id, name: r.name ?? r.id, severity: r.severity ?? DEFAULT_RULE_SEVERITY };
  switch (r.kind) {
    case 'cpu':
      return { ...common, kind: 'cpu', abovePercent: r.abovePercent, forMs: r.forMs ?? 0 };
    case 'memory':
      return { ...common, kind: 'memory', aboveBytes: r.aboveBytes, forMs: r.forMs ?? 0 };
    case 'exited':
      return { ...common, kind: 'exited', forMs: r.forMs ?? 0 };
    case 'restarts':
      return { ...common, kind: 'restarts', moreThan: r.moreThan, windowMs: r.windowMs };
    case 'logs': {
      let pattern: RegExp | null = null;
      if (r.pattern !== undefined) {
        pattern = compileConfigRegex(r.pattern, `${where}.pattern`);
        const why = unsafeRegexReason(pattern.source, pattern.flags, 'alert');
        if (why !== null) throw invalid(`${where}.pattern: ${why}`);
      }
      return { ...common, kind: 'logs', level: r.level ?? DEFAULT_ALERT_LOG_LEVEL, pattern, moreThan: r.moreThan, windowMs: r.windowMs };
    }
  }
}
