/**
 * Evaluation of a full-covariance mixture q = Σₖ πₖ N(aμₖ, Cₖ), Cₖ = a²Σₖ + s²I (sources C§7
 * "Full": Cholesky Cₖ = L Lᵀ, log det = 2 Σ log L_jj, solve L u = x − aμₖ, quadratic form ‖u‖²,
 * Cₖ⁻¹(x − aμₖ) = L⁻ᵀu), shared by the density functions (full-mixture.ts) and the denoiser
 * (full-mixture-denoiser.ts). Internal: not exported by the compose entry point.
 */
import { checkInt, describe } from '../core/validate.ts';
import type { FullMixture } from './types.ts';
import { backSolveInPlace, choleskyInto, forwardSolveInPlace, LOG_2PI, logDetFromCholesky } from './linalg.ts';

/**
 * Precomputed Cholesky factors of Cₖ = a²Σₖ + s²I (a² = ᾱ, s² = 1 − ᾱ; ᾱ = 1 is the data level)
 * and log-normalizers log πₖ − ½ log det(2π Cₖ).
 */
export interface Compiled {
  abar: number;
  a: number;
  chol: Float64Array;
  logNorm: Float64Array;
}

/** Room for a mixture's factors, at no level yet (ᾱ = NaN): `compile` fills it in. */
export function uncompiled(mix: FullMixture): Compiled {
  const d = mix.dim;
  const K = mix.weights.length;
  return { abar: NaN, a: 0, chol: new Float64Array(K * d * d), logNorm: new Float64Array(K) };
}

/** The factors of `mix` at ᾱ = `abar`, into `into` when given. */
export function compile(mix: FullMixture, abar: number, into?: Compiled): Compiled {
  const d = mix.dim;
  const K = mix.weights.length;
  const c = into ?? uncompiled(mix);
  const tmp = new Float64Array(d * d);
  const s2 = 1 - abar;
  for (let k = 0; k < K; k++) {
    const o = k * d * d;
    for (let i = 0; i < d * d; i++) tmp[i] = abar * mix.covariances[o + i];
    for (let i = 0; i < d; i++) tmp[i * d + i] += s2;
    if (!choleskyInto(tmp, 0, d, c.chol, o)) {
      throw new RangeError(`component ${k}: ᾱΣ + (1−ᾱ)I is not positive definite at ᾱ = ${abar}`);
    }
    c.logNorm[k] =
      (mix.weights[k] > 0 ? Math.log(mix.weights[k]) : -Infinity) -
      0.5 * (d * LOG_2PI + logDetFromCholesky(c.chol, o, d));
  }
  c.abar = abar;
  c.a = Math.sqrt(abar);
  return c;
}

/**
 * What {@link evaluate} reads and writes: the mixture at one level, and buffers of ≥ batch rows.
 * A denoiser builds it once and updates `compiled`, the buffers and `acc` in place.
 */
export interface MixtureEvaluation {
  mix: FullMixture;
  /** The mixture's factors at the level (`compile`). */
  compiled: Compiled;
  /** batch·K: ℓₖ, then the responsibilities rₖ. */
  L: Float64Array;
  /** batch: log q. */
  logQ: Float64Array;
  /** Scratch of K·d values. */
  work: Float64Array;
  /** batch·d: −∇log q when given, else null (the score is not computed). */
  acc: Float64Array | null;
}

/**
 * Per sample b: ℓₖ into L[b·K + k], then logQ[b] = LSEₖ ℓₖ and rₖ (in place of ℓₖ); when `acc`
 * is given, acc_b = Σₖ rₖ Cₖ⁻¹(x_b − aμₖ) = −∇log q(x_b).
 */
export function evaluate(e: MixtureEvaluation, x: ArrayLike<number>, batch: number): void {
  const { mix, compiled: c, L, logQ, work, acc } = e;
  const d = mix.dim;
  const K = mix.weights.length;
  for (let b = 0; b < batch; b++) {
    const xo = b * d;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      if (c.logNorm[k] === -Infinity) {
        L[b * K + k] = -Infinity;
        continue;
      }
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

/** The number of points in `x` (all of them, or checked against `batch`). */
export function checkPoints(name: string, x: unknown, dim: number, batch?: number): number {
  if (!(x instanceof Float32Array) && !(x instanceof Float64Array)) {
    throw new TypeError(`${name} must be a Float32Array or Float64Array, got ${describe(x)}`);
  }
  if (batch === undefined) {
    if (x.length % dim !== 0)
      throw new RangeError(`${name} must have a length that is a multiple of dim = ${dim}, got ${x.length}`);
    return x.length / dim;
  }
  checkInt('batch', batch, 0);
  if (x.length !== batch * dim)
    throw new RangeError(`${name} must have length batch·dim = ${batch * dim}, got ${x.length}`);
  return batch;
}
