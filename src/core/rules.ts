/**
 * Aggregation rules (AMDM paper §3.2, eq. 8, and its ablations). Every rule works per sample
 * (blocks of `dim` elements) and writes `out`, which may alias `xs[0]`.
 *
 * Weight convention (DESIGN): a pairwise rule's `w` is the weight of the *other* model b:
 * w = 0 returns a, w = 1 returns b. The official code's `ω` weights the *target* in its `vp`
 * merge; `vp` with weight w here equals the official ω = √(1 − w²).
 *
 * The element passes run on the kernel backend passed as the rule's fifth argument (the sampler
 * passes its own), else the active one (`backend.ts`); the per-sample decisions (θ, thresholds,
 * errors) live in `kernel-math.ts` and are shared by every backend.
 */
import type { AggregationRule } from './types.ts';
import { batchOf } from './tensor.ts';
import { checkNumber } from './validate.ts';
import { kernelBackend } from './backend.ts';

export { SLERP_ANTIPODAL_TOLERANCE, SLERP_LERP_THRESHOLD } from './kernel-math.ts';

function checkPair(name: string, xs: readonly Float32Array[], weights: readonly number[], out: Float32Array, dim: number): number {
  if (xs.length !== 2) throw new RangeError(`${name}: xs must hold exactly 2 tensors (a pairwise rule), got ${xs.length}`);
  if (weights.length !== 1) throw new RangeError(`${name}: weights must hold exactly 1 weight, got ${weights.length}`);
  const w = weights[0];
  if (!(typeof w === 'number' && w >= 0 && w <= 1)) checkNumber(`${name}: weight`, w, 0, 1);
  const batch = batchOf(`${name}: xs[0]`, xs[0], dim);
  if (xs[1].length !== xs[0].length) throw new RangeError(`${name}: xs[1] must have length ${xs[0].length}, got ${xs[1].length}`);
  if (out.length !== xs[0].length) throw new RangeError(`${name}: out must have length ${xs[0].length}, got ${out.length}`);
  return batch;
}

function named<F extends (...a: never[]) => unknown>(fn: F, ruleName: string, symmetric = false): F & { ruleName: string; symmetric: boolean } {
  return Object.assign(fn, { ruleName, symmetric });
}

/**
 * Linear interpolation (the paper's "linear" ablation, §4.4): (1 − w)·a + w·b. Shrinks the norm:
 * for orthogonal a, b of equal norm r, ‖lerp‖ = r·√((1−w)² + w²).
 */
export const lerp: AggregationRule = named((xs, weights, out, dim, kernels) => {
  checkPair('lerp', xs, weights, out, dim);
  const w = weights[0];
  (kernels ?? kernelBackend()).combine(xs[0], xs[1], 1 - w, w, out);
  return out;
}, 'lerp');

/**
 * Spherical linear interpolation, paper eq. 8:
 *   slerp(a, b; w) = sin((1−w)θ)/sin θ · a + sin(wθ)/sin θ · b,  θ = arccos(⟨a, b⟩ / (‖a‖‖b‖)).
 * θ comes from the *normalized* dot product (the paper writes x₁·x₂ for unit vectors).
 * - θ < SLERP_LERP_THRESHOLD (or a zero input): falls back to lerp (the limit of the formula).
 * - θ within SLERP_ANTIPODAL_TOLERANCE of π: the great circle is not unique; throws a RangeError
 *   naming the sample instead of returning a huge or NaN result.
 * With ‖a‖ = ‖b‖ the result keeps that norm and makes the angle w·θ with a.
 * Near θ = π with *unequal* norms the coefficients grow like 1/sin θ and no longer cancel, so
 * ‖slerp‖ grows like |‖a‖ − ‖b‖|·sin(wπ)/sin θ: that is eq. 8 as written. In high dimension
 * two latents are almost never near-antipodal; in 2-D toys they are (the composition benchmark
 * shows it). `sphericalMean` — slerp of the unit directions with the norm interpolated
 * linearly — stays bounded there and equals this rule when the norms are equal.
 * The official code does not use this formula (see `vp`).
 */
export const slerp: AggregationRule = named((xs, weights, out, dim, kernels) => {
  checkPair('slerp', xs, weights, out, dim);
  // one pass for ⟨a, b⟩, ‖a‖², ‖b‖² per sample; acos of the normalized dot product is accurate
  // to ~1e-16/sin θ, ample above the lerp threshold (θ ≥ 1e-4) and below the antipodal one
  (kernels ?? kernelBackend()).slerp(xs[0], xs[1], weights[0], out, dim);
  return out;
}, 'slerp');

/**
 * Normalized lerp: the lerp direction rescaled to the interpolated norm (1 − w)‖a‖ + w‖b‖.
 * Cheaper than slerp and norm-preserving, but does not move at constant angular speed.
 * Throws when the lerp is the zero vector (antipodal inputs of equal norm at w = ½).
 */
export const nlerp: AggregationRule = named((xs, weights, out, dim, kernels) => {
  checkPair('nlerp', xs, weights, out, dim);
  (kernels ?? kernelBackend()).nlerp(xs[0], xs[1], weights[0], out, dim);
  return out;
}, 'nlerp');

/**
 * The official code's "spherical" merge (`interactmigc.py:431`): ω·a + √(1 − ω²)·b with ω the
 * weight of the target. Here with the paper's w (weight of b): √(1 − w²)·a + w·b, i.e.
 * ω = √(1 − w²). Variance-preserving for independent inputs; equals slerp only at θ = 90°.
 */
export const vp: AggregationRule = named((xs, weights, out, dim, kernels) => {
  checkPair('vp', xs, weights, out, dim);
  const w = weights[0];
  (kernels ?? kernelBackend()).combine(xs[0], xs[1], Math.sqrt(1 - w * w), w, out);
  return out;
}, 'vp');

export interface SphericalMeanOptions {
  /** Stop when the tangent-space update ‖u‖ (radians) falls below this. Default 1e-10. */
  tolerance?: number;
  /** Throw when not converged after this many iterations. Default 100. */
  maxIterations?: number;
}

/**
 * A symmetric N-way weighted spherical mean (a weighted Fréchet/Karcher mean on the sphere,
 * Buss & Fillmore 2001): the direction q minimizing Σ wₖ·arccos(⟨q, x̂ₖ⟩)², found by the fixed
 * point q ← exp_q(Σ wₖ log_q(x̂ₖ)) from the normalized Euclidean mean, until ‖Σ wₖ log_q(x̂ₖ)‖ <
 * tolerance; the radius is Σ wₖ‖xₖ‖. For two inputs of equal norm it equals slerp(a, b; w₂).
 * Unlike a fold of pairwise slerps it does not depend on the order of the models.
 * Weights: N non-negative numbers summing to 1 (the sampler derives them from the paper's w's).
 */
export function makeSphericalMean(opts: SphericalMeanOptions = {}): AggregationRule {
  const tol = checkNumber('tolerance', opts.tolerance ?? 1e-10, 0, 1, { minExclusive: true });
  const maxIt = checkNumber('maxIterations', opts.maxIterations ?? 100, 1, 1e6);
  const fn: AggregationRule = (xs, weights, out, dim, kernels) => {
    const n = xs.length;
    if (n < 1) throw new RangeError('sphericalMean: xs must hold at least 1 tensor');
    if (weights.length !== n) throw new RangeError(`sphericalMean: weights must hold ${n} weights (one per tensor), got ${weights.length}`);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const wk = weights[k];
      sum += typeof wk === 'number' && wk >= 0 && wk <= 1 ? wk : checkNumber(`sphericalMean: weights[${k}]`, wk, 0, 1);
    }
    if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`sphericalMean: weights must sum to 1, got ${sum}`);
    batchOf('sphericalMean: xs[0]', xs[0], dim);
    for (let k = 1; k < n; k++) {
      if (xs[k].length !== xs[0].length) throw new RangeError(`sphericalMean: xs[${k}] must have length ${xs[0].length}, got ${xs[k].length}`);
    }
    if (out.length !== xs[0].length) throw new RangeError(`sphericalMean: out must have length ${xs[0].length}, got ${out.length}`);
    (kernels ?? kernelBackend()).sphericalMean(xs, weights, out, dim, tol, maxIt);
    return out;
  };
  return named(fn, 'sphericalMean', true);
}

/** The symmetric spherical mean with default tolerance 1e-10. */
export const sphericalMean: AggregationRule = makeSphericalMean();

export const RULES = { slerp, lerp, nlerp, vp, sphericalMean } as const;
export type RuleName = keyof typeof RULES;
export const RULE_NAMES = Object.keys(RULES) as RuleName[];

/** A rule by name, or the given function. */
export function resolveRule(rule: AggregationRule | RuleName | undefined): AggregationRule {
  if (rule === undefined) return slerp;
  if (typeof rule === 'function') return rule;
  if (typeof rule === 'string' && Object.hasOwn(RULES, rule)) return RULES[rule as RuleName];
  throw new RangeError(`rule must be one of ${RULE_NAMES.map((r) => `'${r}'`).join(', ')} or a function, got ${JSON.stringify(rule)}`);
}

/**
 * Write a pairwise rule from a per-sample function: `fn(a, b, w, out)` gets subarray views of
 * one sample each. Convenient for prototyping; the built-in rules avoid the views for speed.
 */
export function pairwiseRule(
  name: string,
  fn: (a: Float32Array, b: Float32Array, w: number, out: Float32Array) => void,
): AggregationRule {
  return named((xs: readonly Float32Array[], weights: readonly number[], out: Float32Array, dim: number) => {
    const batch = checkPair(name, xs, weights, out, dim);
    for (let s = 0; s < batch; s++) {
      const o = s * dim;
      fn(xs[0].subarray(o, o + dim), xs[1].subarray(o, o + dim), weights[0], out.subarray(o, o + dim));
    }
    return out;
  }, name);
}

/**
 * The weights a symmetric rule receives, derived from the fold weights so that a fold of
 * `lerp` and the symmetric weighted mean agree: target Π(1 − wⱼ), model j: wⱼ Π_{k>j}(1 − w_k).
 */
export function foldWeightsToSymmetric(w: readonly number[], out?: number[]): number[] {
  const n = w.length + 1;
  const res = out ?? new Array<number>(n);
  let tail = 1;
  for (let j = w.length - 1; j >= 0; j--) {
    res[j + 1] = w[j] * tail;
    tail *= 1 - w[j];
  }
  res[0] = tail;
  return res;
}
