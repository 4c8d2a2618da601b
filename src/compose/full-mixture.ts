/**
 * Gaussian mixtures with full covariances, p(x) = Σₖ πₖ N(x; μₖ, Σₖ): the exact targets of the
 * 2-D composition worlds — construction and checks, log density, responsibilities, exact
 * samples and moments (evaluated as in sources C§7 "Full", full-mixture-eval.ts). Products,
 * mixtures and linear images of mixtures: mixture-algebra.ts; the exact denoiser:
 * full-mixture-denoiser.ts.
 *
 * Isotropic and diagonal mixtures (src/toy) convert with `toFullMixture`; their own denoiser
 * (`mixtureDenoiser`) is faster and is what the worlds use where it applies.
 */
import { checkInt, describe } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import type { RandomSource } from '../toy/gmm.ts';
import { choleskyInto } from './linalg.ts';
import { checkPoints, compile, evaluate } from './full-mixture-eval.ts';
import type { FullMixture } from './types.ts';

export type { FullMixture } from './types.ts';

/** |Σπ − 1| tolerated by `validateFullMixture`. */
export const FULL_WEIGHT_TOLERANCE = 1e-9;

/** Checks every field of a full mixture (kind, dim, weights, means, SPD covariances); returns it. */
export function validateFullMixture(mix: FullMixture): FullMixture {
  if (typeof mix !== 'object' || mix === null || mix.kind !== 'full') {
    throw new TypeError(`mixture must be a FullMixture (kind 'full'), got ${describe(mix)}`);
  }
  const d = checkInt('mixture.dim', mix.dim, 1);
  if (!(mix.weights instanceof Float64Array) || mix.weights.length < 1) {
    throw new TypeError(`mixture.weights must be a non-empty Float64Array, got ${describe(mix.weights)}`);
  }
  const K = mix.weights.length;
  let sum = 0;
  for (let k = 0; k < K; k++) {
    const w = mix.weights[k];
    if (!Number.isFinite(w) || w < 0)
      throw new RangeError(`mixture.weights[${k}] must be a finite number ≥ 0, got ${w}`);
    sum += w;
  }
  if (Math.abs(sum - 1) > FULL_WEIGHT_TOLERANCE) {
    throw new RangeError(`mixture.weights must sum to 1 (± ${FULL_WEIGHT_TOLERANCE}), got a sum of ${sum}`);
  }
  if (!(mix.means instanceof Float64Array) || mix.means.length !== K * d) {
    throw new RangeError(`mixture.means must be a Float64Array of length K·dim = ${K * d}, got ${describe(mix.means)}`);
  }
  for (let i = 0; i < mix.means.length; i++) {
    if (!Number.isFinite(mix.means[i])) throw new RangeError(`mixture.means[${i}] must be finite, got ${mix.means[i]}`);
  }
  const C = mix.covariances;
  if (!(C instanceof Float64Array) || C.length !== K * d * d) {
    throw new RangeError(
      `mixture.covariances must be a Float64Array of length K·dim² = ${K * d * d}, got ${describe(C)}`,
    );
  }
  const L = new Float64Array(d * d);
  for (let k = 0; k < K; k++) {
    const o = k * d * d;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const a = C[o + i * d + j];
        const b = C[o + j * d + i];
        if (!(Math.abs(a - b) <= 1e-9 * (Math.abs(a) + Math.abs(b) + 1e-300))) {
          throw new RangeError(
            `mixture.covariances of component ${k} must be symmetric, got [${i}][${j}] = ${a} ≠ [${j}][${i}] = ${b}`,
          );
        }
      }
    }
    if (!choleskyInto(C, o, d, L, 0)) {
      throw new RangeError(`mixture.covariances of component ${k} must be symmetric positive definite`);
    }
  }
  return mix;
}

/**
 * A full mixture from K·dim means, covariances (one dim×dim matrix shared by all components,
 * or K of them back to back) and weights (default 1/K). Arrays are copied.
 */
export function fullMixture(
  means: ArrayLike<number>,
  dim: number,
  covariances: ArrayLike<number>,
  weights?: ArrayLike<number>,
): FullMixture {
  checkInt('dim', dim, 1);
  if (means?.length === undefined || means.length === 0 || means.length % dim !== 0) {
    throw new RangeError(
      `means must have a length that is a positive multiple of dim = ${dim}, got ${describe(means)}`,
    );
  }
  const K = means.length / dim;
  const dd = dim * dim;
  const cov = new Float64Array(K * dd);
  if (covariances?.length === dd) for (let k = 0; k < K; k++) cov.set(Array.from(covariances), k * dd);
  else if (covariances?.length === K * dd) cov.set(Array.from(covariances));
  else
    throw new RangeError(
      `covariances must have dim² = ${dd} or K·dim² = ${K * dd} entries, got ${describe(covariances)}`,
    );
  let w: Float64Array;
  if (weights === undefined) w = new Float64Array(K).fill(1 / K);
  else if (weights?.length === K) w = Float64Array.from(weights);
  else throw new RangeError(`weights must have K = ${K} entries, got ${describe(weights)}`);
  return validateFullMixture({ kind: 'full', dim, weights: w, means: Float64Array.from(means), covariances: cov });
}

/** Converts an isotropic or diagonal mixture (src/toy) to a full one; a full mixture is returned as is. */
export function toFullMixture(mix: GaussianMixture | FullMixture): FullMixture {
  if (mix?.kind === 'full') return validateFullMixture(mix);
  if (mix?.kind !== 'isotropic' && mix?.kind !== 'diagonal') {
    throw new TypeError(`mixture must be an isotropic, diagonal or full mixture, got ${describe(mix)}`);
  }
  const { dim, weights } = mix;
  const K = weights.length;
  const cov = new Float64Array(K * dim * dim);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < dim; j++) {
      cov[k * dim * dim + j * dim + j] = mix.kind === 'isotropic' ? mix.variances[k] : mix.variances[k * dim + j];
    }
  }
  return validateFullMixture({
    kind: 'full',
    dim,
    weights: Float64Array.from(weights),
    means: Float64Array.from(mix.means),
    covariances: cov,
  });
}

/** log p(x) of the (data-level) mixture for n = x.length/dim points, float64. */
export function mixtureLogDensity(
  mix: GaussianMixture | FullMixture,
  x: Float32Array | Float64Array,
  out?: Float64Array,
): Float64Array {
  const m = toFullMixture(mix);
  const n = checkPoints('x', x, m.dim);
  const res = out ?? new Float64Array(n);
  if (res.length !== n) throw new RangeError(`out must have length ${n}, got ${res.length}`);
  const K = m.weights.length;
  const L = new Float64Array(n * K);
  evaluate({ mix: m, compiled: compile(m, 1), L, logQ: res, work: new Float64Array(K * m.dim), acc: null }, x, n);
  return res;
}

/** Posterior component probabilities rₖ(x) under the data-level mixture: n·K values. */
export function mixtureResponsibilities(
  mix: GaussianMixture | FullMixture,
  x: Float32Array | Float64Array,
): Float64Array {
  const m = toFullMixture(mix);
  const n = checkPoints('x', x, m.dim);
  const K = m.weights.length;
  const R = new Float64Array(n * K);
  const logQ = new Float64Array(n);
  evaluate({ mix: m, compiled: compile(m, 1), L: R, logQ, work: new Float64Array(K * m.dim), acc: null }, x, n);
  return R;
}

/** n exact samples: component k with probability πₖ, then μₖ + Lₖ z (Σₖ = Lₖ Lₖᵀ). */
export function sampleMixture(mix: GaussianMixture | FullMixture, n: number, rng: RandomSource): Float32Array {
  const m = toFullMixture(mix);
  checkInt('n', n, 0);
  if (typeof rng?.normal !== 'function' || typeof rng?.uniform !== 'function') {
    throw new TypeError(`rng must have normal() and uniform() methods, got ${describe(rng)}`);
  }
  const d = m.dim;
  const K = m.weights.length;
  const chol = new Float64Array(K * d * d);
  for (let k = 0; k < K; k++) choleskyInto(m.covariances, k * d * d, d, chol, k * d * d);
  let last = K - 1;
  while (m.weights[last] === 0) last--;
  const z = new Float64Array(d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    let k = 0;
    let cum = m.weights[0];
    while (k < last && !(u < cum)) cum += m.weights[++k];
    for (let j = 0; j < d; j++) z[j] = rng.normal();
    const o = k * d * d;
    for (let r = 0; r < d; r++) {
      let s = m.means[k * d + r];
      for (let j = 0; j <= r; j++) s += chol[o + r * d + j] * z[j];
      out[i * d + r] = s;
    }
  }
  return out;
}

/** Mean and covariance of the mixture: m = Σπμ, C = Σπ(Σ + μμᵀ) − mmᵀ. */
export function mixtureMoments(mix: GaussianMixture | FullMixture): { mean: Float64Array; covariance: Float64Array } {
  const m = toFullMixture(mix);
  const d = m.dim;
  const mean = new Float64Array(d);
  const cov = new Float64Array(d * d);
  for (let k = 0; k < m.weights.length; k++) {
    const w = m.weights[k];
    for (let i = 0; i < d; i++) {
      mean[i] += w * m.means[k * d + i];
      for (let j = 0; j < d; j++)
        cov[i * d + j] += w * (m.covariances[k * d * d + i * d + j] + m.means[k * d + i] * m.means[k * d + j]);
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] -= mean[i] * mean[j];
  return { mean, covariance: cov };
}
