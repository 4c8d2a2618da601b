/**
 * Aggregation rules (AMDM paper §3.2, eq. 8, and its ablations). Every rule works per sample
 * (blocks of `dim` elements) and writes `out`, which may alias `xs[0]`.
 *
 * Weight convention (DESIGN): a pairwise rule's `w` is the weight of the *other* model b:
 * w = 0 returns a, w = 1 returns b. The official code's `ω` weights the *target* in its `vp`
 * merge; `vp` with weight w here equals the official ω = √(1 − w²).
 *
 * Every rule, built in or not, is one wrapper around a batch kernel: the wrapper checks the
 * arguments (naming the rule) and returns `out`. A rule of your own is written per sample —
 * `defineRule({ name, sample })` with `sample(a, b, w, out)` (pairwise) or
 * `sample(xs, weights, out)` (symmetric) on views of one sample — and the batch loop runs it
 * over the samples; `registerRule` (rule-registry.ts) makes it selectable by name. The built-in
 * rules run their element passes on the kernel backend passed as the rule's fifth argument (the
 * sampler passes its own), else the active one (`backend.ts`); their per-sample decisions (θ,
 * thresholds, errors) live in `kernel-math.ts` and are shared by every backend.
 */
import type { AggregationRule } from './types.ts';
import { batchOf } from './tensor.ts';
import { checkNumber, describe } from './validate.ts';
import { kernelBackend, type KernelBackend } from './backend.ts';
import { SphereScratch } from './kernel-math.ts';

export { SLERP_ANTIPODAL_TOLERANCE, SLERP_LERP_THRESHOLD } from './kernel-math.ts';

/**
 * One sample of a pairwise rule (eq. 8's shape): `a` is the running merge (the target's proposal
 * first), `b` the next model's proposal, `w` the weight of b (0 keeps a, 1 gives b). `a`, `b` and
 * `out` are views of `dim` values; `out` may be `a` itself, so read a[i] and b[i] before writing
 * out[i].
 */
export type PairwiseKernel = (a: Float32Array, b: Float32Array, w: number, out: Float32Array) => void;

/**
 * One sample of a symmetric rule: all N proposals (target first), N non-negative weights that sum
 * to 1, and `out`, each a view of `dim` values; `out` may be `xs[0]`.
 */
export type SymmetricKernel = (xs: readonly Float32Array[], weights: readonly number[], out: Float32Array) => void;

/** What `defineRule` turns into an `AggregationRule`. */
export type RuleDefinition =
  | { readonly name: string; readonly symmetric?: false; readonly sample: PairwiseKernel }
  | { readonly name: string; readonly symmetric: true; readonly sample: SymmetricKernel };

/** A rule name: a letter, then letters, digits, `_` or `-` (it is typed on command lines and in job files). */
export const RULE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** A rule's work on a whole batch of `dim`-value samples, on `kernels`, once its arguments are checked. */
type BatchKernel = (
  xs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
  dim: number,
  kernels: KernelBackend,
) => void;

function checkPair(
  name: string,
  xs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
  dim: number,
): void {
  if (xs.length !== 2)
    throw new RangeError(`${name}: xs must hold exactly 2 tensors (a pairwise rule), got ${xs.length}`);
  if (weights.length !== 1) throw new RangeError(`${name}: weights must hold exactly 1 weight, got ${weights.length}`);
  const w = weights[0];
  if (!(typeof w === 'number' && w >= 0 && w <= 1)) checkNumber(`${name}: weight`, w, 0, 1);
  batchOf(`${name}: xs[0]`, xs[0], dim);
  if (xs[1].length !== xs[0].length)
    throw new RangeError(`${name}: xs[1] must have length ${xs[0].length}, got ${xs[1].length}`);
  if (out.length !== xs[0].length)
    throw new RangeError(`${name}: out must have length ${xs[0].length}, got ${out.length}`);
}

function checkSymmetric(
  name: string,
  xs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
  dim: number,
): void {
  const n = xs.length;
  if (n < 1) throw new RangeError(`${name}: xs must hold at least 1 tensor`);
  if (weights.length !== n)
    throw new RangeError(`${name}: weights must hold ${n} weights (one per tensor), got ${weights.length}`);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const wk = weights[k];
    sum += typeof wk === 'number' && wk >= 0 && wk <= 1 ? wk : checkNumber(`${name}: weights[${k}]`, wk, 0, 1);
  }
  if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`${name}: weights must sum to 1, got ${sum}`);
  batchOf(`${name}: xs[0]`, xs[0], dim);
  for (let k = 1; k < n; k++) {
    if (xs[k].length !== xs[0].length)
      throw new RangeError(`${name}: xs[${k}] must have length ${xs[0].length}, got ${xs[k].length}`);
  }
  if (out.length !== xs[0].length)
    throw new RangeError(`${name}: out must have length ${xs[0].length}, got ${out.length}`);
}

/**
 * The one wrapper of every rule: checks the arguments with the pairwise or the symmetric checks,
 * runs `batch` on the given backend (else the active one) and returns `out`.
 */
function makeRule(kind: { name: string; symmetric?: boolean }, batch: BatchKernel): AggregationRule {
  const { name } = kind;
  const symmetric = kind.symmetric === true;
  const check = symmetric ? checkSymmetric : checkPair;
  const rule = (
    xs: readonly Float32Array[],
    weights: readonly number[],
    out: Float32Array,
    dim: number,
    kernels?: KernelBackend,
  ) => {
    check(name, xs, weights, out, dim);
    batch(xs, weights, out, dim, kernels ?? kernelBackend());
    return out;
  };
  return Object.assign(rule, { ruleName: name, symmetric });
}

/** The batch loop of a per-sample kernel: it receives views of sample 0, 1, … in turn. */
function perSample(def: RuleDefinition): BatchKernel {
  if (def.symmetric === true) {
    const sample = def.sample;
    const views: Float32Array[] = [];
    return (xs, weights, out, dim) => {
      views.length = xs.length;
      for (let o = 0; o < out.length; o += dim) {
        for (let k = 0; k < xs.length; k++) views[k] = xs[k].subarray(o, o + dim);
        sample(views, weights, out.subarray(o, o + dim));
      }
    };
  }
  const sample = def.sample;
  return (xs, weights, out, dim) => {
    for (let o = 0; o < out.length; o += dim)
      sample(xs[0].subarray(o, o + dim), xs[1].subarray(o, o + dim), weights[0], out.subarray(o, o + dim));
  };
}

const DEFINITION_KEYS = ['name', 'sample', 'symmetric'];

/**
 * An aggregation rule from a per-sample kernel: the rule checks its arguments like the built-in
 * ones (two tensors and one weight in [0, 1] for a pairwise rule; N tensors and N weights summing
 * to 1 for a symmetric one; equal lengths, whole samples), then calls `sample` on each sample's
 * views. Pass it to `sampleAMDM({ rule })`, or `registerRule` it to select it by name.
 */
export function defineRule(def: RuleDefinition): AggregationRule {
  if (def === null || typeof def !== 'object')
    throw new TypeError(`a rule definition must be an object { name, sample, symmetric? }, got ${describe(def)}`);
  if (typeof def.name !== 'string' || !RULE_NAME_PATTERN.test(def.name)) {
    throw new RangeError(
      `rule name must be a letter followed by letters, digits, _ or - (e.g. 'myRule'), got ${describe(def.name)}`,
    );
  }
  const where = `rule '${def.name}'`;
  const unknown = Object.keys(def).find((k) => !DEFINITION_KEYS.includes(k));
  if (unknown !== undefined)
    throw new RangeError(`${where}: unknown field '${unknown}'; a definition has name, sample and symmetric`);
  if (def.symmetric !== undefined && typeof def.symmetric !== 'boolean')
    throw new TypeError(`${where}: symmetric must be a boolean when given, got ${describe(def.symmetric)}`);
  if (typeof def.sample !== 'function') {
    const form = def.symmetric ? '(xs, weights, out) => void' : '(a, b, w, out) => void';
    throw new TypeError(`${where}: sample must be a function ${form} over one sample, got ${describe(def.sample)}`);
  }
  return makeRule(def, perSample(def));
}

/**
 * Write a pairwise rule from a per-sample function: `defineRule({ name, sample: fn })`.
 * Convenient for prototyping; the built-in rules run on the kernel backends for speed.
 */
export function pairwiseRule(name: string, fn: PairwiseKernel): AggregationRule {
  return defineRule({ name, sample: fn });
}

/**
 * Linear interpolation (the paper's "linear" ablation, §4.4): (1 − w)·a + w·b. Shrinks the norm:
 * for orthogonal a, b of equal norm r, ‖lerp‖ = r·√((1−w)² + w²).
 */
export const lerp: AggregationRule = makeRule({ name: 'lerp' }, (xs, weights, out, _dim, kernels) => {
  const w = weights[0];
  kernels.combine(xs[0], xs[1], 1 - w, w, out);
});

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
export const slerp: AggregationRule = makeRule({ name: 'slerp' }, (xs, weights, out, dim, kernels) => {
  // one pass for ⟨a, b⟩, ‖a‖², ‖b‖² per sample; acos of the normalized dot product is accurate
  // to ~1e-16/sin θ, ample above the lerp threshold (θ ≥ 1e-4) and below the antipodal one
  kernels.slerp(xs[0], xs[1], weights[0], out, dim);
});

/**
 * Normalized lerp: the lerp direction rescaled to the interpolated norm (1 − w)‖a‖ + w‖b‖.
 * Cheaper than slerp and norm-preserving, but does not move at constant angular speed.
 * Throws when the lerp is the zero vector (antipodal inputs of equal norm at w = ½).
 */
export const nlerp: AggregationRule = makeRule({ name: 'nlerp' }, (xs, weights, out, dim, kernels) => {
  kernels.nlerp(xs[0], xs[1], weights[0], out, dim);
});

/**
 * The official code's "spherical" merge (`interactmigc.py:431`): ω·a + √(1 − ω²)·b with ω the
 * weight of the target. Here with the paper's w (weight of b): √(1 − w²)·a + w·b, i.e.
 * ω = √(1 − w²). Variance-preserving for independent inputs; equals slerp only at θ = 90°.
 */
export const vp: AggregationRule = makeRule({ name: 'vp' }, (xs, weights, out, _dim, kernels) => {
  const w = weights[0];
  kernels.combine(xs[0], xs[1], Math.sqrt(1 - w * w), w, out);
});

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
  // the norms of one sample's inputs and the iterate's q and u: this rule's own, reused by every call
  const scratch = new SphereScratch();
  return makeRule({ name: 'sphericalMean', symmetric: true }, (xs, weights, out, dim, kernels) => {
    kernels.sphericalMean(xs, weights, out, dim, tol, maxIt, scratch);
  });
}

/** The symmetric spherical mean with default tolerance 1e-10. */
export const sphericalMean: AggregationRule = makeSphericalMean();

export const RULES = { slerp, lerp, nlerp, vp, sphericalMean } as const;
export type RuleName = keyof typeof RULES;
export const RULE_NAMES = Object.keys(RULES) as RuleName[];

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
