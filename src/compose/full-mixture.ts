/**
 * Gaussian mixtures with full covariances, p(x) = Σₖ πₖ N(x; μₖ, Σₖ): the exact targets of the
 * 2-D composition worlds (products and mixtures of mixtures, rotated experts) and their exact
 * denoisers (sources C§7 "Full": Cholesky Cₖ = L Lᵀ, log det = 2 Σ log L_jj,
 * solve L u = x − aμₖ, quadratic form ‖u‖², Cₖ⁻¹(x − aμₖ) = L⁻ᵀu).
 *
 * Isotropic and diagonal mixtures (src/toy) convert with `toFullMixture`; their own denoiser
 * (`mixtureDenoiser`) is faster and is what the worlds use where it applies.
 */
import { alphaBar as scheduleAlphaBar, type NoiseSchedule } from '../core/schedule.ts';
import { checkInt, checkNumber, describe } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import type { RandomSource } from '../toy/gmm.ts';
import type { ExactModel } from './types.ts';
import {
  backSolveInPlace,
  choleskyInto,
  forwardSolveInPlace,
  invertSPD,
  logDetFromCholesky,
  logDetSPD,
  logSumExp,
  matVecInto,
} from './linalg.ts';

export interface FullMixture {
  readonly kind: 'full';
  readonly dim: number;
  /** πₖ: K entries ≥ 0 summing to 1. */
  readonly weights: Float64Array;
  /** μₖ back to back: K·dim values. */
  readonly means: Float64Array;
  /** Σₖ row-major, back to back: K·dim·dim values, each symmetric positive definite. */
  readonly covariances: Float64Array;
}

const LOG_2PI = Math.log(2 * Math.PI);
/** |Σπ − 1| tolerated by `validateFullMixture`. */
export const FULL_WEIGHT_TOLERANCE = 1e-9;
/** Product components with log(ŵ/Z) below this are dropped (sources C§8.1). */
export const PRUNE_LOG_WEIGHT = -50;

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
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`mixture.weights[${k}] must be a finite number ≥ 0, got ${w}`);
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
    throw new RangeError(`mixture.covariances must be a Float64Array of length K·dim² = ${K * d * d}, got ${describe(C)}`);
  }
  const L = new Float64Array(d * d);
  for (let k = 0; k < K; k++) {
    const o = k * d * d;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const a = C[o + i * d + j];
        const b = C[o + j * d + i];
        if (!(Math.abs(a - b) <= 1e-9 * (Math.abs(a) + Math.abs(b) + 1e-300))) {
          throw new RangeError(`mixture.covariances of component ${k} must be symmetric, got [${i}][${j}] = ${a} ≠ [${j}][${i}] = ${b}`);
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
    throw new RangeError(`means must have a length that is a positive multiple of dim = ${dim}, got ${describe(means)}`);
  }
  const K = means.length / dim;
  const dd = dim * dim;
  const cov = new Float64Array(K * dd);
  if (covariances?.length === dd) for (let k = 0; k < K; k++) cov.set(Array.from(covariances), k * dd);
  else if (covariances?.length === K * dd) cov.set(Array.from(covariances));
  else throw new RangeError(`covariances must have dim² = ${dd} or K·dim² = ${K * dd} entries, got ${describe(covariances)}`);
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
  return validateFullMixture({ kind: 'full', dim, weights: Float64Array.from(weights), means: Float64Array.from(mix.means), covariances: cov });
}

/**
 * Precomputed Cholesky factors of Cₖ = a²Σₖ + s²I (a² = ᾱ, s² = 1 − ᾱ; ᾱ = 1 is the data level)
 * and log-normalizers log πₖ − ½ log det(2π Cₖ).
 */
interface Compiled {
  abar: number;
  a: number;
  chol: Float64Array;
  logNorm: Float64Array;
}

function compile(mix: FullMixture, abar: number, into?: Compiled): Compiled {
  const d = mix.dim;
  const K = mix.weights.length;
  const c = into ?? { abar: NaN, a: 0, chol: new Float64Array(K * d * d), logNorm: new Float64Array(K) };
  const tmp = new Float64Array(d * d);
  const s2 = 1 - abar;
  for (let k = 0; k < K; k++) {
    const o = k * d * d;
    for (let i = 0; i < d * d; i++) tmp[i] = abar * mix.covariances[o + i];
    for (let i = 0; i < d; i++) tmp[i * d + i] += s2;
    if (!choleskyInto(tmp, 0, d, c.chol, o)) {
      throw new RangeError(`component ${k}: ᾱΣ + (1−ᾱ)I is not positive definite at ᾱ = ${abar}`);
    }
    c.logNorm[k] = (mix.weights[k] > 0 ? Math.log(mix.weights[k]) : -Infinity) - 0.5 * (d * LOG_2PI + logDetFromCholesky(c.chol, o, d));
  }
  c.abar = abar;
  c.a = Math.sqrt(abar);
  return c;
}

/**
 * Per sample b: ℓₖ into L[b·K + k], then logQ[b] = LSEₖ ℓₖ and rₖ (in place of ℓₖ); when `acc`
 * is given, acc_b = Σₖ rₖ Cₖ⁻¹(x_b − aμₖ) = −∇log q(x_b). `work` holds K·d values.
 */
function evaluate(
  mix: FullMixture, c: Compiled, x: ArrayLike<number>, batch: number,
  L: Float64Array, logQ: Float64Array, work: Float64Array, acc: Float64Array | null,
): void {
  const d = mix.dim;
  const K = mix.weights.length;
  for (let b = 0; b < batch; b++) {
    const xo = b * d;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      if (c.logNorm[k] === -Infinity) { L[b * K + k] = -Infinity; continue; }
      const wo = k * d;
      for (let j = 0; j < d; j++) work[wo + j] = x[xo + j] - c.a * mix.means[k * d + j];
      forwardSolveInPlace(c.chol, k * d * d, d, work, wo);
      let q = 0;
      for (let j = 0; j < d; j++) q += work[wo + j] * work[wo + j];
      const l = c.logNorm[k] - 0.5 * q;
      L[b * K + k] = l;
      if (l > max) max = l;
    }
    if (!Number.isFinite(max)) throw new RangeError(`log density is not finite for sample ${b} (x must be finite)`);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(L[b * K + k] - max);
    const lq = max + Math.log(s);
    logQ[b] = lq;
    for (let k = 0; k < K; k++) L[b * K + k] = Math.exp(L[b * K + k] - lq);
    if (acc) {
      acc.fill(0, xo, xo + d);
      for (let k = 0; k < K; k++) {
        const r = L[b * K + k];
        if (r === 0) continue;
        const wo = k * d;
        backSolveInPlace(c.chol, k * d * d, d, work, wo); // C⁻¹(x − aμ) = L⁻ᵀ u
        for (let j = 0; j < d; j++) acc[xo + j] += r * work[wo + j];
      }
    }
  }
}

function checkPoints(name: string, x: unknown, dim: number, batch?: number): number {
  if (!(x instanceof Float32Array) && !(x instanceof Float64Array)) {
    throw new TypeError(`${name} must be a Float32Array or Float64Array, got ${describe(x)}`);
  }
  if (batch === undefined) {
    if (x.length % dim !== 0) throw new RangeError(`${name} must have a length that is a multiple of dim = ${dim}, got ${x.length}`);
    return x.length / dim;
  }
  checkInt('batch', batch, 0);
  if (x.length !== batch * dim) throw new RangeError(`${name} must have length batch·dim = ${batch * dim}, got ${x.length}`);
  return batch;
}

/** log p(x) of the (data-level) mixture for n = x.length/dim points, float64. */
export function mixtureLogDensity(mix: GaussianMixture | FullMixture, x: Float32Array | Float64Array, out?: Float64Array): Float64Array {
  const m = toFullMixture(mix);
  const n = checkPoints('x', x, m.dim);
  const res = out ?? new Float64Array(n);
  if (res.length !== n) throw new RangeError(`out must have length ${n}, got ${res.length}`);
  const K = m.weights.length;
  evaluate(m, compile(m, 1), x, n, new Float64Array(n * K), res, new Float64Array(K * m.dim), null);
  return res;
}

/** Posterior component probabilities rₖ(x) under the data-level mixture: n·K values. */
export function mixtureResponsibilities(mix: GaussianMixture | FullMixture, x: Float32Array | Float64Array): Float64Array {
  const m = toFullMixture(mix);
  const n = checkPoints('x', x, m.dim);
  const K = m.weights.length;
  const R = new Float64Array(n * K);
  evaluate(m, compile(m, 1), x, n, R, new Float64Array(n), new Float64Array(K * m.dim), null);
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
      for (let j = 0; j < d; j++) cov[i * d + j] += w * (m.covariances[k * d * d + i * d + j] + m.means[k * d + i] * m.means[k * d + j]);
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] -= mean[i] * mean[j];
  return { mean, covariance: cov };
}

/**
 * The normalized tilted product Πᵢ pᵢ(x)^{γᵢ} / Z of mixtures (sources C§8.1,
 * generalized to exponents): one component per tuple (k₁, …, k_m) with
 *   Λ = Σᵢ γᵢ Σᵢ⁻¹,  h = Σᵢ γᵢ Σᵢ⁻¹ μᵢ,  m = Λ⁻¹h,  S = Λ⁻¹,
 *   log ŵ = Σᵢ γᵢ [log πᵢ − ½ log det(2πΣᵢ) − ½ μᵢᵀΣᵢ⁻¹μᵢ] + ½ log det(2πS) + ½ hᵀΛ⁻¹h,
 * the log of ∫ Πᵢ (πᵢ N(x; μᵢ, Σᵢ))^{γᵢ} dx; log Z = LSE log ŵ. With γ = (1, 1) this is
 * ŵ = π ρ N(μ; ν, A + B) of C§8.1. An exponent other than 1 is allowed only on a single
 * Gaussian (a tempered mixture is not a mixture, C§8.3). Components with log(ŵ/Z) < −50 are
 * dropped. Throws when a tuple's precision Λ is not positive definite (no normalizable product).
 */
export function productOfMixtures(
  factors: readonly (GaussianMixture | FullMixture)[],
  exponents?: readonly number[],
): { mixture: FullMixture; logZ: number } {
  if (!Array.isArray(factors) || factors.length < 1) throw new RangeError(`factors must be a non-empty array of mixtures, got ${describe(factors)}`);
  const fs = factors.map((f) => toFullMixture(f));
  const d = fs[0].dim;
  fs.forEach((f, i) => { if (f.dim !== d) throw new RangeError(`factors[${i}].dim must equal factors[0].dim = ${d}, got ${f.dim}`); });
  const gam = exponents ?? fs.map(() => 1);
  if (!Array.isArray(gam) || gam.length !== fs.length) throw new RangeError(`exponents must hold one number per factor (${fs.length}), got ${describe(exponents)}`);
  gam.forEach((g, i) => {
    checkNumber(`exponents[${i}]`, g);
    if (g !== 1 && fs[i].weights.length !== 1) {
      throw new RangeError(`exponents[${i}] = ${g}: an exponent other than 1 needs a single-Gaussian factor (a tempered mixture is not a mixture); factors[${i}] has ${fs[i].weights.length} components`);
    }
  });
  // Per factor component: precision P = Σ⁻¹, P μ, and c = log π − ½ log det(2πΣ) − ½ μᵀPμ.
  const pre = fs.map((f) => {
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
  });
  const total = pre.reduce((n, p) => n * p.K, 1);
  const logW: number[] = [];
  const means: number[] = [];
  const covs: number[] = [];
  const idx = new Array<number>(fs.length).fill(0);
  const Lam = new Float64Array(d * d);
  const h = new Float64Array(d);
  const mvec = new Float64Array(d);
  for (let t = 0; t < total; t++) {
    let rem = t;
    for (let i = fs.length - 1; i >= 0; i--) { idx[i] = rem % pre[i].K; rem = Math.floor(rem / pre[i].K); }
    Lam.fill(0);
    h.fill(0);
    let c = 0;
    for (let i = 0; i < fs.length; i++) {
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
      throw new RangeError(`the product of components (${idx.join(', ')}) with exponents (${gam.join(', ')}) has a precision that is not positive definite: the product is not normalizable`);
    }
    matVecInto(S, 0, d, h, 0, mvec, 0);
    let q = 0;
    for (let j = 0; j < d; j++) q += h[j] * mvec[j];
    logW.push(c + 0.5 * (d * LOG_2PI + logDetSPD(S, d)) + 0.5 * q);
    for (let j = 0; j < d; j++) means.push(mvec[j]);
    for (let j = 0; j < d * d; j++) covs.push(S[j]);
  }
  const logZ = logSumExp(logW);
  if (!Number.isFinite(logZ)) throw new RangeError('the product of the factors has no mass (every component weight is 0)');
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

/** The mixture Σᵢ wᵢ pᵢ of mixtures (components concatenated, weights rescaled; C§8.3). */
export function mixtureOfMixtures(factors: readonly (GaussianMixture | FullMixture)[], weights: readonly number[]): FullMixture {
  if (!Array.isArray(factors) || factors.length < 1) throw new RangeError(`factors must be a non-empty array of mixtures, got ${describe(factors)}`);
  if (!Array.isArray(weights) || weights.length !== factors.length) {
    throw new RangeError(`weights must hold one number per factor (${factors.length}), got ${describe(weights)}`);
  }
  const fs = factors.map((f) => toFullMixture(f));
  const d = fs[0].dim;
  let sum = 0;
  weights.forEach((w, i) => { sum += checkNumber(`weights[${i}]`, w, 0); });
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
  return validateFullMixture({ kind: 'full', dim: d, weights: Float64Array.from(w), means: Float64Array.from(means), covariances: Float64Array.from(covs) });
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
        for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) s += A[i * d + p] * m.covariances[k * d * d + p * d + q] * A[j * d + q];
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

/** t → ᾱ: a NoiseSchedule (integer t, negative = final ᾱ) or `{ alphaBar(t) }`. */
export type AlphaBarSource = NoiseSchedule | { readonly alphaBar: (t: number) => number };

export function alphaBarOf(schedule: AlphaBarSource): (t: number) => number {
  if (typeof schedule === 'object' && schedule !== null && 'alphasCumprod' in schedule) {
    return (t) => scheduleAlphaBar(schedule, t);
  }
  if (typeof schedule === 'object' && schedule !== null && typeof schedule.alphaBar === 'function') {
    const f = schedule.alphaBar;
    return (t) => {
      const a = f(t);
      if (typeof a !== 'number' || !(a >= 0 && a <= 1)) throw new RangeError(`schedule.alphaBar(t) must return a number in [0, 1], got ${describe(a)} at t = ${t}`);
      return a;
    };
  }
  throw new TypeError(`schedule must be a NoiseSchedule or { alphaBar: (t) => number }, got ${describe(schedule)}`);
}

export interface FullMixtureDenoiser extends ExactModel {
  readonly mixture: FullMixture;
  /** ε*(x, t) = −√(1−ᾱ) ∇log q_t(x); a buffer owned by the denoiser, overwritten by the next call. */
  eps(x: Float32Array, t: number, batch: number): Float32Array;
  /** Exact normalized log q_t(x) per sample. */
  logDensity(x: Float32Array, t: number, batch: number, out?: Float64Array): Float64Array;
  /** ∇log q_t(x), batch·dim values. */
  score(x: Float32Array, t: number, batch: number, out?: Float32Array): Float32Array;
}

/**
 * The exact denoiser of a full-covariance mixture (sources C§7, "Full"):
 * q_t = Σₖ πₖ N(aμₖ, Cₖ), Cₖ = a²Σₖ + s²I, ε* = s Σₖ rₖ Cₖ⁻¹(x − aμₖ). Cholesky factors are
 * recomputed only when ᾱ changes; buffers grow only with the batch.
 */
export function fullMixtureDenoiser(mix: GaussianMixture | FullMixture, schedule: AlphaBarSource, opts: { name?: string } = {}): FullMixtureDenoiser {
  const m = toFullMixture(mix);
  const ab = alphaBarOf(schedule);
  const d = m.dim;
  const K = m.weights.length;
  let compiled: Compiled | undefined;
  let cap = 0;
  let R = new Float64Array(0);
  let logQ = new Float64Array(0);
  let acc = new Float64Array(0);
  let epsBuf = new Float32Array(0);
  const work = new Float64Array(K * d);

  function run(x: Float32Array, t: number, batch: number, withScore: boolean): number {
    checkInt('batch', batch, 1);
    checkPoints('x', x, d, batch);
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const abar = ab(t);
    if (!compiled || compiled.abar !== abar) compiled = compile(m, abar, compiled);
    if (batch > cap) {
      cap = batch;
      R = new Float64Array(batch * K);
      logQ = new Float64Array(batch);
      acc = new Float64Array(batch * d);
      epsBuf = new Float32Array(batch * d);
    }
    evaluate(m, compiled, x, batch, R, logQ, work, withScore ? acc : null);
    return abar;
  }

  return {
    name: opts.name ?? `full-gmm(K=${K}, dim=${d})`,
    mixture: m,
    eps(x, t, batch) {
      const abar = run(x, t, batch, true);
      const s = Math.sqrt(1 - abar);
      const out = epsBuf.length === batch * d ? epsBuf : epsBuf.subarray(0, batch * d);
      for (let i = 0; i < batch * d; i++) out[i] = s * acc[i];
      return out;
    },
    logDensity(x, t, batch, out) {
      run(x, t, batch, false);
      const res = out ?? new Float64Array(batch);
      if (!(res instanceof Float64Array) || res.length !== batch) throw new RangeError(`out must be a Float64Array of length batch = ${batch}`);
      res.set(logQ.subarray(0, batch));
      return res;
    },
    score(x, t, batch, out) {
      run(x, t, batch, true);
      const res = out ?? new Float32Array(batch * d);
      if (!(res instanceof Float32Array) || res.length !== batch * d) throw new RangeError(`out must be a Float32Array of length batch·dim = ${batch * d}`);
      for (let i = 0; i < batch * d; i++) res[i] = -acc[i];
      return res;
    },
  };
}
