/**
 * Aggregation rules by name: the plug-in point for rules of your own.
 *
 * The built-in rules (`slerp`, `lerp`, `nlerp`, `vp`, `sphericalMean`) are registered from the
 * start. `registerRule` adds one — a `defineRule` definition or a rule made from one — after
 * `checkAggregationRule` has checked it (eq. 8's endpoints, finite and complete output, in-place
 * use), so that `sampleAMDM({ rule: 'myRule' })`, `amdm demo --rule myRule` (with
 * `amdm --import ./my-rule.mjs`) and a job file's `"rule": "myRule"` find it. A module that
 * registers its rules when it is imported is the usual way to ship them, like model families
 * (`registerFamily` in src/sd).
 */
import type { AggregationRule } from './types.ts';
import { RULES, RULE_NAME_PATTERN, defineRule, type RuleDefinition, type RuleName } from './rules.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { checkAggregationRule } from './rule-check.ts';
import { describe } from './validate.ts';

/** A rule: a registered name (the built-in ones are typed) or the rule itself. */
export type RuleRef = AggregationRule | RuleName | (string & {});

const registry = new Map<string, AggregationRule>(Object.entries(RULES));

/**
 * Registers a rule under its name (`def.name`, or the `ruleName` of a rule made by `defineRule`)
 * and returns it. The rule must pass `checkAggregationRule`; a built-in name cannot be taken and
 * a registered one is replaced only with `replace: true`.
 */
export function registerRule(
  rule: AggregationRule | RuleDefinition,
  opts: { replace?: boolean } = {},
): AggregationRule {
  const made = typeof rule === 'function' ? rule : defineRule(rule);
  const name = made.ruleName;
  if (typeof name !== 'string' || !RULE_NAME_PATTERN.test(name)) {
    throw new RangeError(
      `a registered rule needs a ruleName of a letter followed by letters, digits, _ or - (defineRule gives one), got ${describe(name)}`,
    );
  }
  if (Object.hasOwn(RULES, name))
    throw new RangeError(
      `'${name}' is a built-in aggregation rule and cannot be replaced; give your rule another name`,
    );
  if (registry.has(name) && opts.replace !== true) {
    throw new RangeError(
      `an aggregation rule named '${name}' is already registered (pass { replace: true } to replace it)`,
    );
  }
  checkAggregationRule(made);
  registry.set(name, made);
  return made;
}

/** The registered names: the built-in rules first, then the others in the order they were registered. */
export function ruleNames(): string[] {
  return [...registry.keys()];
}

/** Whether `name` is a registered rule. */
export function hasRule(name: string): boolean {
  return registry.has(name);
}

/** "'slerp', 'lerp', …": the registered names, for messages. */
export function quotedRuleNames(): string {
  return ruleNames()
    .map((r) => `'${r}'`)
    .join(', ');
}

/** A rule by registered name, or the given function (default: AMDM_DEFAULTS.rule, slerp). */
export function resolveRule(rule: RuleRef | undefined): AggregationRule {
  const ref = rule ?? AMDM_DEFAULTS.rule;
  if (typeof ref === 'function') return ref;
  const found = typeof ref === 'string' ? registry.get(ref) : undefined;
  if (found) return found;
  throw new RangeError(`rule must be one of ${quotedRuleNames()} or a function, got ${JSON.stringify(rule)}`);
}
