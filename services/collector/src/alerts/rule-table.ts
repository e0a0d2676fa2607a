// Which rules apply to which server: a target's rules apply to each server it reports (a `match`
// target's instance k ≥ 2 reports as `<id>.<k>`).
import type { Target, TargetConfig } from '../config-schema.js';
import { resolveRules, type Rule } from './rules.js';

export type RuleTable = {
  empty: boolean;
  rulesOf(serverId: string): readonly Rule[];
  owns(serverId: string): boolean;
  hasLogRules(serverId: string): boolean;
};

/** `defaultsField`: how errors name the defaults (`alertDefaults` as an option, `defaults.alerts` in the file). */
export function ruleTable(targets: readonly Target[], configs: readonly TargetConfig[], defaults: readonly unknown[], defaultsField = 'alertDefaults'): RuleTable {
  // Checked once on their own, even with no target to apply them to.
  resolveRules(defaults, [], defaultsField, defaultsField);
  const byTarget = new Map<string, Rule[]>();
  const instances = new Map<string, number>();
  for (const t of targets) {
    const i = configs.findIndex((c) => c.id === t.id);
    const own = i >= 0 ? (configs[i]!.alerts ?? []) : [];
    byTarget.set(t.id, resolveRules(defaults, own, i >= 0 ? `targets[${i}].alerts` : 'self.alerts', defaultsField));
    if (t.kind === 'match') instances.set(t.id, t.maxInstances);
  }
  const targetOf = (serverId: string): string | null => {
    if (byTarget.has(serverId)) return serverId;
    const m = /^(.+)\.(\d+)$/.exec(serverId);
    return m && Number(m[2]) >= 2 && Number(m[2]) <= (instances.get(m[1]!) ?? 0) ? m[1]! : null;
  };
  const none: Rule[] = [];
  const rulesOf = (serverId: string) => {
    const target = targetOf(serverId);
    return target === null ? none : byTarget.get(target)!;
  };
  return {
    empty: [...byTarget.values()].every((r) => r.length === 0),
    rulesOf,
    owns: (serverId) => targetOf(serverId) !== null,
    hasLogRules: (serverId) => rulesOf(serverId).some((r) => r.kind === 'logs'),
  };
}
