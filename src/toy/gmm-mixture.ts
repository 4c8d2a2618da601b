/**
 * Building and checking Gaussian mixtures p₀(x) = Σₖ πₖ N(μₖ, Σₖ) (docs/sources.md C§7, "Closed-form
 * models"), and drawing exact samples from them.
 */
import { checkInt, describe } from '../core/validate.ts';
import type { GaussianMixture } from './mixture.ts';

/** |Σₖ πₖ − 1| allowed by `validateMixture`. */
export const WEIGHT_SUM_TOLERANCE = 1e-9;

/**
 * Check every field of a mixture and return it unchanged. Throws a TypeError for a wrong
 * kind/type and a RangeError for a wrong length or value: `dim` an integer ≥ 1, K ≥ 1 weights
 * that are finite, ≥ 0 and sum to 1 (± 1e-9), K·dim finite means, and finite variances ≥ 0
 * (K of them for 'isotropic', K·dim for 'diagonal'). A variance of 0 is a point mass.
 */
export function validateMixture(mix: GaussianMixture): GaussianMixture {
  if (typeof mix !== 'object' || mix === null) throw new TypeError(`mixture must be an object, got ${describe(mix)}`);
  const kind: unknown = mix.kind;
  if (kind !== 'isotropic' && kind !== 'diagonal') {
    throw new RangeError(`mixture.kind must be one of 'isotropic', 'diagonal', got ${describe(kind)}`);
  }
  const dim = checkInt('mixture.dim', mix.dim, 1);
  if (!(mix.weights instanceof Float64Array)) {
    throw new TypeError(`mixture.weights must be a Float64Array, got ${describe(mix.weights)}`);
  }
  const K = mix.weights.length;
  if (K < 1) throw new RangeError('mixture.weights must have at least 1 entry (one per component), got 0');
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const w = mix.weights[k];
    if (!Number.isFinite(w) || w < 0) {
      throw new RangeError(`mixture.weights[${k}] must be a finite number ≥ 0, got ${w}`);
    }
    sum += w;
  }
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    throw new RangeError(`mixture.weights must sum to 1 (± ${WEIGHT_SUM_TOLERANCE}), got a sum of ${sum}`);
  }
  if (!(mix.means instanceof Float32Array)) {
    throw new TypeError(`mixture.means must be a Float32Array, got ${describe(mix.means)}`);
  }
  if (mix.means.length !== K * dim) {
    throw new RangeError(`mixture.means must have length K·dim = ${K}·${dim} = ${K * dim}, got ${mix.means.length}`);
  }
  checkFinite('mixture.means', mix.means);
  const varType = kind === 'isotropic' ? Float64Array : Float32Array;
  if (!(mix.variances instanceof varType)) {
    throw new TypeError(
      `mixture.variances must be a ${varType.name} for kind '${kind}', got ${describe(mix.variances)}`,
    );
  }
  const nVar = kind === 'isotropic' ? K : K * dim;
  if (mix.variances.length !== nVar) {
    const what = kind === 'isotropic' ? `K = ${K}` : `K·dim = ${K * dim}`;
    throw new RangeError(`mixture.variances must have length ${what} for kind '${kind}', got ${mix.variances.length}`);
  }
  for (let i = 0; i < nVar; i++) {
    const v = mix.variances[i];
    if (!Number.isFinite(v) || v < 0) {
      throw new RangeError(`mixture.variances[${i}] must be a finite number ≥ 0, got ${v}`);
    }
  }
  return mix;
}

/**
 * An isotropic mixture Σₖ πₖ N(μₖ, σₖ² I). `means` holds K·dim values (μₖ back to back);
 * `variances` is one σ² shared by all components or K values; `weights` default to 1/K.
 * The arrays are copied.
 */
export function isotropicMixture(
  means: ArrayLike<number>,
  dim: number,
  variances: number | ArrayLike<number>,
  weights?: ArrayLike<number>,
): GaussianMixture {
  const K = componentCount(means, dim);
  const v = new Float64Array(K);
  if (typeof variances === 'number') v.fill(variances);
  else {
    if (variances?.length !== K) {
      throw new RangeError(`variances must be a number or have K = ${K} entries, got ${describe(variances)}`);
    }
    v.set(variances);
  }
  return validateMixture({
    kind: 'isotropic',
    dim,
    weights: weightsOrUniform(weights, K),
    means: Float32Array.from(means),
    variances: v,
  });
}

/**
 * A diagonal mixture Σₖ πₖ N(μₖ, diag(vₖ)). `variances` is one number, `dim` values shared by
 * all components, or K·dim values (vₖ back to back); `weights` default to 1/K. Arrays are copied.
 */
export function diagonalMixture(
  means: ArrayLike<number>,
  dim: number,
  variances: number | ArrayLike<number>,
  weights?: ArrayLike<number>,
): GaussianMixture {
  const K = componentCount(means, dim);
  const v = new Float32Array(K * dim);
  if (typeof variances === 'number') v.fill(variances);
  else if (variances?.length === dim) for (let k = 0; k < K; k++) v.set(variances, k * dim);
  else if (variances?.length === K * dim) v.set(variances);
  else {
    throw new RangeError(
      `variances must be a number or have dim = ${dim} or K·dim = ${K * dim} entries, got ${describe(variances)}`,
    );
  }
  return validateMixture({
    kind: 'diagonal',
    dim,
    weights: weightsOrUniform(weights, K),
    means: Float32Array.from(means),
    variances: v,
  });
}

/** A source of random numbers: `normal()` ~ N(0, 1), `uniform()` ~ U[0, 1). */
export interface RandomSource {
  normal(): number;
  uniform(): number;
}

/**
 * n exact samples of p₀: pick component k with probability πₖ (inverse CDF of one uniform),
 * then x = μₖ + √vₖ ⊙ z with z ~ N(0, I). Returns n·dim values; when `labels` (n entries) is
 * given, labels[i] receives the component of sample i.
 */
export function gmmSample(mix: GaussianMixture, n: number, rng: RandomSource, labels?: Int32Array): Float32Array {
  validateMixture(mix);
  checkInt('n', n, 0);
  if (typeof rng?.normal !== 'function' || typeof rng?.uniform !== 'function') {
    throw new TypeError(`rng must have normal() and uniform() methods, got ${describe(rng)}`);
  }
  if (labels !== undefined) {
    if (!(labels instanceof Int32Array)) throw new TypeError(`labels must be an Int32Array, got ${describe(labels)}`);
    if (labels.length !== n) throw new RangeError(`labels must have length n = ${n}, got ${labels.length}`);
  }
  const { dim, weights, means, variances } = mix;
  const K = weights.length;
  let last = K - 1; // the last component with πₖ > 0 absorbs the rounding of the cumulative sum
  while (weights[last] === 0) last--;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    if (!(u >= 0 && u < 1)) throw new RangeError(`rng.uniform() must return a number in [0, 1), got ${u}`);
    let k = 0;
    let cum = weights[0];
    while (k < last && !(u < cum)) cum += weights[++k];
    if (labels) labels[i] = k;
    for (let j = 0; j < dim; j++) {
      const z = rng.normal();
      if (!Number.isFinite(z)) throw new RangeError(`rng.normal() must return a finite number, got ${z}`);
      const v = mix.kind === 'isotropic' ? variances[k] : variances[k * dim + j];
      out[i * dim + j] = means[k * dim + j] + Math.sqrt(v) * z;
    }
  }
  return out;
}

function componentCount(means: ArrayLike<number>, dim: number): number {
  checkInt('dim', dim, 1);
  if (typeof means !== 'object' || means === null || typeof means.length !== 'number') {
    throw new TypeError(`means must be an array of K·dim numbers, got ${describe(means)}`);
  }
  if (means.length === 0 || means.length % dim !== 0) {
    throw new RangeError(`means must have a length that is a positive multiple of dim = ${dim}, got ${means.length}`);
  }
  return means.length / dim;
}

function weightsOrUniform(weights: ArrayLike<number> | undefined, K: number): Float64Array {
  if (weights === undefined) return new Float64Array(K).fill(1 / K);
  if (weights?.length !== K) throw new RangeError(`weights must have K = ${K} entries, got ${describe(weights)}`);
  return Float64Array.from(weights);
}

function checkFinite(name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`${name}[${i}] must be finite, got ${a[i]}`);
  }
}
