/**
 * The "write a rule" box: a function body over one sample becomes a pairwise aggregation rule,
 * checked by checkAggregationRule (endpoints w = 0/1, finite and complete output, in-place
 * merge) before any sampler runs it.
 */
import { checkAggregationRule } from '../../src/core/rule-check.ts';
import { pairwiseRule } from '../../src/core/rules.ts';
import type { AggregationRule } from '../../src/core/types.ts';
import { describe } from '../../src/core/validate.ts';

/** Longest body accepted, in characters. */
export const MAX_RULE_BODY = 10_000;

type Body = (
  a: Float32Array,
  b: Float32Array,
  w: number,
  out: Float32Array,
  dot: (u: Float32Array, v: Float32Array) => number,
  norm: (u: Float32Array) => number,
) => unknown;

/** ⟨u, v⟩ in float64. */
function dot(u: Float32Array, v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
}

/** ‖u‖ in float64. */
function norm(u: Float32Array): number {
  return Math.sqrt(dot(u, u));
}

/**
 * Compiles `body` — statements over `a`, `b` (one sample of each proposal), `w` (the weight of
 * b) and `out`, with `dot(u, v)` and `norm(u)` in scope — into a rule named 'custom', and checks
 * it on inputs of `dim` elements. Throws a SyntaxError for a body that does not parse and the
 * checker's RangeError for one that breaks a rule's contract.
 */
export function compileRule(body: string, dim: number): AggregationRule {
  if (typeof body !== 'string') throw new TypeError(`rule body must be a string, got ${describe(body)}`);
  if (body.trim() === '') throw new RangeError('rule body must not be empty: write out[i] for every i');
  if (body.length > MAX_RULE_BODY)
    throw new RangeError(`rule body must be at most ${MAX_RULE_BODY} characters, got ${body.length}`);
  let fn: Body;
  try {
    fn = new Function('a', 'b', 'w', 'out', 'dot', 'norm', `'use strict';\n${body}`) as Body;
  } catch (e) {
    throw new SyntaxError(`rule body does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  const rule = pairwiseRule('custom', (a, b, w, out) => {
    fn(a, b, w, out, dot, norm);
  });
  return checkAggregationRule(rule, { dim });
}
