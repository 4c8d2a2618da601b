/**
 * Products, mixtures and linear images of Gaussian mixtures, as full-covariance mixtures
 * (sources C§8.1): the exact targets of the 2-D composition worlds.
 */
import { checkNumber, describe } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import { toFullMixture, validateFullMixture, type FullMixture } from './full-mixture.ts';
import { invertSPD, LOG_2PI, logDetSPD, logSumExp, matVecInto } from './linalg.ts';

/** Product components with log(ŵ/Z) below this are dropped (sources C§8.1). */
export const PRUNE_LOG_WEIGHT = -50;

/**
 * The normalized tilted product Πᵢ pᵢ(x)^{γᵢ} / Z of mixtures (sources C§8.1,
 * generalized to exponents): one component per tuple (k₁, …, k_m) with
 *   Λ = Σᵢ γᵢ Σᵢ⁻¹,  h = Σᵢ γᵢ Σᵢ⁻¹ μᵢ,  m = Λ⁻¹h,  S = Λ⁻¹,
 *   log ŵ = Σᵢ γᵢ [log πᵢ − ½ log det(2πΣᵢ) − ½ μᵢᵀΣᵢ⁻¹μᵢ] + ½ log det(2πS) + ½ hᵀΛ⁻¹h,
 * the log of ∫ Πᵢ (πᵢ N(x; μᵢ, Σᵢ))^{γᵢ} dx; log Z = LSE log ŵ. With γ = (1, 1) this is
 * ŵ = π ρ N(μ; ν, A + B) of C§8.1. An exponent other than 1 is allowed only on a single
 * Gaussian (a tempered mixture is not a mixture). Components with log(ŵ/Z) < −50 are
 * dropped. Throws when a tuple's precision Λ is not positive definite (no normalizable product).
 */
export function productOfMixtures(
  factors: readonly (GaussianMixture | FullMixture)[],
  exponents?: readonly number[],
): { mixture: FullMixture; logZ: number } {
  if (!Array.isArray(factors) || factors.length < 1)
    throw new RangeError(`factors must be a non-empty array of mixtures, got ${describe(factors)}`);
  const fs = factors.map((f) => toFullMixture(f));
  const d = fs[0].dim;
  fs.forEach((f, i) => {
    if (f.dim !== d) throw new RangeError(`factors[${i}].dim must equal factors[0].dim = ${d}, got ${f.dim}`);
  });
  const gam = exponents ?? fs.map(() => 1);
  if (!Array.isArray(gam) || gam.length !== fs.length)
    throw new RangeError(`exponents must hold one number per factor (${fs.length}), got ${describe(exponents)}`);
  gam.forEach((g, i) => {
    checkNumber(`exponents[${i}]`, g);
    if (g !== 1 && fs[i].weights.length !== 1) {
      throw new RangeError(
        `exponents[${i}] = ${g}: an exponent other than 1 needs a single-Gaussian factor (a tempered mixture is not a mixture); factors[${i}] has ${fs[i].weights.length} components`,
      );
    }
  });
  const pre = fs.map((f) => factorTerms(f));
  const { logW, means, covs } = productComponents(pre, gam, d);
  const logZ = logSumExp(logW);
  if (!Number.isFinite(logZ))
    throw new RangeError('the product of the factors has no mass (every component weight is 0)');
  const keep: number[] = [];
  for (let i = 0; i < logW.length; i++) if (logW[i] - logZ >= PRUNE_LOG_WEIGHT) keep.push(i);
  const kept = logSumExp(keep.map((i) => logW[i]));
  const w = Float64Array.from(keep, (i) => Math.exp(logW[i] - kept));
  return {
    mixture: validateFullMixture({
      kind: 'full',
      dim: d,
      weights: w,
      means: Float64Array.from(keep.flatMap((i) => means.slice(i * d, (i + 1) * d))),
      covariances: Float64Array.from(keep.flatMap((i) => covs.slice(i * d * d, (i + 1) * d * d))),
    }),
    logZ,
  };
}

/** Per component of one factor: precision P = Σ⁻¹, P μ, and c = log π − ½ log det(2πΣ) − ½ μᵀPμ. */
interface FactorTerms {
  K: number;
  P: Float64Array;
  Pmu: Float64Array;
  c: Float64Array;
}

function factorTerms(f: FullMixture): FactorTerms {
  const d = f.dim;
  const K = f.weights.length;
  const P = new Float64Array(K * d * d);
  const Pmu = new Float64Array(K * d);
  const c = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const S = f.covariances.subarray(k * d * d, (k + 1) * d * d);
    const inv = invertSPD(S, d)!;
    P.set(inv, k * d * d);
    matVecInto(inv, 0, d, f.means, k * d, Pmu, k * d);
    let q = 0;
    for (let j = 0; j < d; j++) q += f.means[k * d + j] * Pmu[k * d + j];
    c[k] = (f.weights[k] > 0 ? Math.log(f.weights[k]) : -Infinity) - 0.5 * (d * LOG_2PI + logDetSPD(S, d)) - 0.5 * q;
  }
  return { K, P, Pmu, c };
}

/**
 * One product component per tuple (k₁, …, k_m), in row-major tuple order: log ŵ, m and S (see
 * `productOfMixtures`); tuples with a zero-weight factor component are skipped.
 */
function productComponents(
  pre: readonly FactorTerms[],
  gam: readonly number[],
  d: number,
): { logW: number[]; means: number[]; covs: number[] } {
  const total = pre.reduce((n, p) => n * p.K, 1);
  const logW: number[] = [];
  const means: number[] = [];
  const covs: number[] = [];
  const idx = new Array<number>(pre.length).fill(0);
  const Lam = new Float64Array(d * d);
  const h = new Float64Array(d);
  const mvec = new Float64Array(d);
  for (let t = 0; t < total; t++) {
    let rem = t;
    for (let i = pre.length - 1; i >= 0; i--) {
      idx[i] = rem % pre[i].K;
      rem = Math.floor(rem / pre[i].K);
    }
    Lam.fill(0);
    h.fill(0);
    let c = 0;
    for (let i = 0; i < pre.length; i++) {
      const p = pre[i];
      const k = idx[i];
      const g = gam[i];
      for (let j = 0; j < d * d; j++) Lam[j] += g * p.P[k * d * d + j];
      for (let j = 0; j < d; j++) h[j] += g * p.Pmu[k * d + j];
      c += g * p.c[k];
    }
    if (c === -Infinity) continue;
    const S = invertSPD(Lam, d);
    if (!S) {
      throw new RangeError(
        `the product of components (${idx.join(', ')}) with exponents (${gam.join(', ')}) has a precision that is not positive definite: the product is not normalizable`,
      );
    }
    matVecInto(S, 0, d, h, 0, mvec, 0);
    let q = 0;
    for (let j = 0; j < d; j++) q += h[j] * mvec[j];
    logW.push(c + 0.5 * (d * LOG_2PI + logDetSPD(S, d)) + 0.5 * q);
    for (let j = 0; j < d; j++) means.push(mvec[j]);
    for (let j = 0; j < d * d; j++) covs.push(S[j]);
  }
  return { logW, means, covs };
}

/** The mixture Σᵢ wᵢ pᵢ of mixtures (components concatenated, weights rescaled). */
export function mixtureOfMixtures(
  factors: readonly (GaussianMixture | FullMixture)[],
  weights: readonly number[],
): FullMixture {
  if (!Array.isArray(factors) || factors.length < 1)
    throw new RangeError(`factors must be a non-empty array of mixtures, got ${describe(factors)}`);
  if (!Array.isArray(weights) || weights.length !== factors.length) {
    throw new RangeError(`weights must hold one number per factor (${factors.length}), got ${describe(weights)}`);
  }
  const fs = factors.map((f) => toFullMixture(f));
  const d = fs[0].dim;
  let sum = 0;
  weights.forEach((w, i) => {
    sum += checkNumber(`weights[${i}]`, w, 0);
  });
  if (!(sum > 0)) throw new RangeError('weights must have a positive sum');
  const w: number[] = [];
  const means: number[] = [];
  const covs: number[] = [];
  fs.forEach((f, i) => {
    if (f.dim !== d) throw new RangeError(`factors[${i}].dim must equal factors[0].dim = ${d}, got ${f.dim}`);
    for (let k = 0; k < f.weights.length; k++) w.push((weights[i] / sum) * f.weights[k]);
    means.push(...f.means);
    covs.push(...f.covariances);
  });
  return validateFullMixture({
    kind: 'full',
    dim: d,
    weights: Float64Array.from(w),
    means: Float64Array.from(means),
    covariances: Float64Array.from(covs),
  });
}

/** The image of the mixture under x ↦ A x (A: dim×dim row-major): μ ↦ Aμ, Σ ↦ AΣAᵀ. */
export function transformMixture(mix: GaussianMixture | FullMixture, A: ArrayLike<number>): FullMixture {
  const m = toFullMixture(mix);
  const d = m.dim;
  if (A?.length !== d * d) throw new RangeError(`A must have dim² = ${d * d} entries, got ${describe(A)}`);
  for (let i = 0; i < d * d; i++) checkNumber(`A[${i}]`, A[i]);
  const K = m.weights.length;
  const means = new Float64Array(K * d);
  const covs = new Float64Array(K * d * d);
  for (let k = 0; k < K; k++) {
    matVecInto(A, 0, d, m.means, k * d, means, k * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let p = 0; p < d; p++)
          for (let q = 0; q < d; q++) s += A[i * d + p] * m.covariances[k * d * d + p * d + q] * A[j * d + q];
        covs[k * d * d + i * d + j] = s;
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) covs[k * d * d + j * d + i] = covs[k * d * d + i * d + j];
  }
  return validateFullMixture({ kind: 'full', dim: d, weights: m.weights.slice(), means, covariances: covs });
}

/** The 2-D rotation by `angle` radians (counter-clockwise), row-major. */
export function rotation2d(angle: number): Float64Array {
  checkNumber('angle', angle);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return Float64Array.of(c, -s, s, c);
}
