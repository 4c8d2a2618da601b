import { describe, expect, it } from 'vitest';
import { checkAggregationRule } from '../../src/core/rule-check.ts';
import { RULES, pairwiseRule } from '../../src/core/rules.ts';
import type { AggregationRule } from '../../src/core/types.ts';

describe('checkAggregationRule', () => {
  it('accepts every built-in rule', () => {
    for (const rule of Object.values(RULES)) expect(checkAggregationRule(rule)).toBe(rule);
  });

  it('rejects a rule that swaps the endpoints (w is the weight of the other model)', () => {
    const swapped = pairwiseRule('swapped', (a, b, w, out) => {
      for (let i = 0; i < a.length; i++) out[i] = w * a[i] + (1 - w) * b[i];
    });
    expect(() => checkAggregationRule(swapped)).toThrow(
      /rule 'swapped' must return a \(the target keeps its proposal\) at w = 0, but sample 0 differs by up to/,
    );
  });

  it('rejects a rule that is wrong only at w = 1', () => {
    const half = pairwiseRule('half', (a, b, w, out) => {
      for (let i = 0; i < a.length; i++) out[i] = (1 - w / 2) * a[i] + (w / 2) * b[i];
    });
    expect(() => checkAggregationRule(half)).toThrow(/rule 'half' must return b .* at w = 1/);
  });

  it('rejects NaN, skipped elements and a rule that throws, naming the index or the message', () => {
    const nan = pairwiseRule('nan', (a, b, w, out) => {
      for (let i = 0; i < a.length; i++) out[i] = w === 0 ? a[i] : w === 1 ? b[i] : Math.sqrt(-1);
    });
    expect(() => checkAggregationRule(nan)).toThrow(
      "rule 'nan' must write a finite value to every element of out at w = 0.25, got NaN at index 0 (sample 0)",
    );
    const skips = pairwiseRule('skips', (a, b, w, out) => {
      for (let i = 1; i < a.length; i++) out[i] = (1 - w) * a[i] + w * b[i];
    });
    expect(() => checkAggregationRule(skips, { dim: 8 })).toThrow(
      "rule 'skips' must write a finite value to every element of out at w = 0, got NaN at index 0 (sample 0)",
    );
    const throws = pairwiseRule('throws', () => {
      throw new Error('boom');
    });
    expect(() => checkAggregationRule(throws)).toThrow("rule 'throws' threw at w = 0: boom");
  });

  it('rejects a rule that does not return out', () => {
    const fresh: AggregationRule = Object.assign((xs: readonly Float32Array[]) => xs[0].slice(), { ruleName: 'fresh' });
    expect(() => checkAggregationRule(fresh)).toThrow(
      "rule 'fresh' must write into out and return it at w = 0, returned a Float32Array of length 96",
    );
  });

  it('rejects a rule that breaks when out aliases xs[0]', () => {
    // lerp plus a term in the previous element of a (zero at the endpoints): correct with a
    // separate out, wrong in place because a[i − 1] was already overwritten
    const reversing = pairwiseRule('reversing', (a, b, w, out) => {
      for (let i = 0; i < a.length; i++) out[i] = (1 - w) * a[i] + w * b[i] + w * (1 - w) * (i > 0 ? a[i - 1] : 0);
    });
    expect(() => checkAggregationRule(reversing)).toThrow(
      /must give the same result when out is xs\[0\] .* at w = 0.25/,
    );
  });

  it('checks a symmetric rule at one-hot weights', () => {
    const wrong: AggregationRule = Object.assign(
      (xs: readonly Float32Array[], _w: readonly number[], out: Float32Array) => {
        out.set(xs[0]);
        return out;
      },
      { ruleName: 'first', symmetric: true },
    );
    expect(() => checkAggregationRule(wrong)).toThrow(/rule 'first' must return xs\[1\] at weights \[0, 1\]/);
  });

  it('validates its options', () => {
    expect(() => checkAggregationRule(RULES.slerp, { dim: 1 })).toThrow(
      'opts.dim must be an integer in [2, 1048576], got 1',
    );
    expect(() => checkAggregationRule('slerp' as never)).toThrow(
      'rule must be a function (xs, weights, out, dim) => out, got "slerp"',
    );
  });
});
