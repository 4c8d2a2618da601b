/** Parsers for command-line values: each throws commander's InvalidArgumentError with the allowed range. */
import { InvalidArgumentError } from 'commander';
import { hasRule, ruleNames } from '../core/rule-registry.ts';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer in [${min}, ${max}], got '${v}'`);
    }
    return n;
  };
}

export function numberArg(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a number in [${min}, ${max}], got '${v}'`);
    }
    return n;
  };
}

/** A comma-separated list of numbers, each in [min, max]. */
export function numberListArg(min: number, max: number) {
  const one = numberArg(min, max);
  return (v: string): number[] => v.split(',').map((s) => one(s));
}

export function choiceArg<T extends string>(allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) {
      throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}, got '${v}'`);
    }
    return v as T;
  };
}

/**
 * A registered aggregation rule's name (`--rule`), looked up when the flag is parsed: after the
 * modules given to `amdm --import` have registered theirs.
 */
export function ruleArg(v: string): string {
  if (!hasRule(v))
    throw new InvalidArgumentError(
      `must be one of ${ruleNames().join(', ')}, got '${v}' (a module given to amdm --import can register more)`,
    );
  return v;
}

/** The help line of `--rule`. */
export function ruleHelp(): string {
  return `aggregation rule: ${ruleNames().join(', ')}, or one registered by a module given to amdm --import`;
}
