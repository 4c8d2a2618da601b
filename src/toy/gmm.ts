/**
 * Exact denoisers of Gaussian-mixture data (sources C§7).
 *
 * With a = √ᾱ and s² = 1 − ᾱ, the noised marginal of p₀ = Σₖ πₖ N(μₖ, Σₖ) is
 *   q_t(x) = Σₖ πₖ N(x; a μₖ, Cₖ),  Cₖ = a² Σₖ + s² I,
 *   ℓₖ(x) = log πₖ − ½ [log det(2π Cₖ) + (x − aμₖ)ᵀ Cₖ⁻¹ (x − aμₖ)],
 *   log q_t = LSEₖ ℓₖ,  rₖ = exp(ℓₖ − log q_t),
 *   ∇log q_t(x) = −Σₖ rₖ Cₖ⁻¹ (x − aμₖ),   ε*(x, t) = −s ∇log q_t(x).
 *
 * For B samples and K components the squared distances ‖x‖² − 2a⟨x, μₖ⟩ + a²‖μₖ‖² are one
 * B×K matrix product (isotropic case; the loops are in gmm-kernels.ts); the score is a second
 * pass over the same pairs. All reductions are float64. Buffers are kept in the denoiser and
 * grow only with the batch: a call at a fixed batch size allocates nothing (except the result
 * of logDensity/score/responsibilities when no `out` is passed).
 */
import { alphaBar as scheduleAlphaBar, type NoiseSchedule } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import { checkInt, describe } from '../core/validate.ts';
import type { GaussianMixture } from './mixture.ts';
import {
  diagonalLogLik,
  diagonalNegScore,
  isotropicLogLik,
  isotropicNegScore,
  logSumExpRows,
  rowNorms2,
} from './gmm-kernels.ts';
import { validateMixture } from './gmm-mixture.ts';

export {
  diagonalMixture,
  gmmSample,
  isotropicMixture,
  validateMixture,
  WEIGHT_SUM_TOLERANCE,
  type RandomSource,
} from './gmm-mixture.ts';

/** A timestep → ᾱ map for continuous use: ᾱ = alphaBar(t) must lie in [0, 1]. */
export interface AlphaBarFunction {
  readonly alphaBar: (t: number) => number;
}

export interface MixtureDenoiser extends Denoiser {
  /** A private copy of the mixture the denoiser was built from. */
  readonly mixture: GaussianMixture;
  /**
   * ε*(x, t) = −√(1−ᾱ) ∇log q_t(x) for `batch` samples (x: batch·dim). The result is a buffer
   * owned by the denoiser and overwritten by the next `eps` call: copy it to keep it.
   */
  eps(x: Float32Array, t: number, batch: number): Float32Array;
  /** log q_t(x) per sample (exact, normalized), float64; `out` (batch entries) is optional. */
  logDensity(x: Float32Array, t: number, batch: number, out?: Float64Array): Float64Array;
  /** ∇log q_t(x) (the score), batch·dim values; `out` is optional and may alias `x`. */
  score(x: Float32Array, t: number, batch: number, out?: Float32Array): Float32Array;
  /** Posterior responsibilities rₖ(x) = P(component k | x_t = x), batch·K values (row per sample). */
  responsibilities(x: Float32Array, t: number, batch: number, out?: Float64Array): Float64Array;
  /** The ᾱ used at timestep t (validates t as the other methods do). */
  alphaBar(t: number): number;
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The exact denoiser of `mix` under a schedule: either a `NoiseSchedule` (t an integer training
 * timestep, t < 0 meaning the final ᾱ) or `{ alphaBar: (t) => ᾱ }` for any real t.
 *
 * Point masses (σₖ² = 0) are allowed: Cₖ = s² I stays positive while ᾱ < 1. At ᾱ = 1 such a
 * component has no density, and every method throws a RangeError rather than return NaN.
 */
export function mixtureDenoiser(
  mix: GaussianMixture,
  schedule: NoiseSchedule | AlphaBarFunction,
  opts: { name?: string } = {},
): MixtureDenoiser {
  const m = copyMixture(validateMixture(mix));
  const toAlphaBar = alphaBarSource(schedule);
  if (opts.name !== undefined && typeof opts.name !== 'string') {
    throw new TypeError(`opts.name must be a string, got ${describe(opts.name)}`);
  }
  const name = opts.name ?? `gmm(K=${m.weights.length}, dim=${m.dim}, ${m.kind})`;
  const { dim, means } = m;
  const K = m.weights.length;
  const diagonal = m.kind === 'diagonal';

  // Constant per mixture: log πₖ, ‖μₖ‖², and the components that carry weight.
  const logPi = new Float64Array(K);
  const muNorm2 = new Float64Array(K);
  const activeList: number[] = [];
  for (let k = 0; k < K; k++) {
    logPi[k] = Math.log(m.weights[k]);
    if (m.weights[k] > 0) activeList.push(k);
    let n2 = 0;
    for (let j = 0; j < dim; j++) n2 += means[k * dim + j] * means[k * dim + j];
    muNorm2[k] = n2;
  }
  const active = Int32Array.from(activeList);

  // Constant per ᾱ: a, s, 1/cₖ (isotropic) or 1/c_kj (diagonal), and log πₖ − ½ log det(2π Cₖ).
  let cachedAbar = NaN;
  let a = 0;
  let s = 0;
  const invC = new Float64Array(diagonal ? K * dim : K);
  const aMeans = new Float64Array(diagonal ? K * dim : 0); // a·μₖ (diagonal only)
  const logNorm = new Float64Array(K);

  function prepare(abar: number, t: number): void {
    if (abar === cachedAbar) return;
    cachedAbar = NaN; // stays invalid if a component below throws
    const s2 = 1 - abar;
    for (const k of active) {
      if (diagonal) {
        let logDet = 0;
        for (let j = 0; j < dim; j++) {
          const c = abar * m.variances[k * dim + j] + s2;
          if (!(c > 0 && 1 / c < Infinity)) throw pointMassError(k, abar, t, c);
          invC[k * dim + j] = 1 / c;
          aMeans[k * dim + j] = Math.sqrt(abar) * means[k * dim + j];
          logDet += Math.log(2 * Math.PI * c);
        }
        logNorm[k] = logPi[k] - 0.5 * logDet;
      } else {
        const c = abar * m.variances[k] + s2;
        if (!(c > 0 && 1 / c < Infinity)) throw pointMassError(k, abar, t, c);
        invC[k] = 1 / c;
        logNorm[k] = logPi[k] - 0.5 * dim * (LOG_2PI + Math.log(c));
      }
    }
    a = Math.sqrt(abar);
    s = Math.sqrt(s2);
    cachedAbar = abar;
  }

  // Per-batch buffers, grown only when the batch grows.
  let capacity = 0;
  let R = new Float64Array(0); // B×K: ℓₖ, then rₖ
  let logQ = new Float64Array(0); // B
  let xNorm2 = new Float64Array(0); // B: ‖x‖²
  let acc = new Float64Array(0); // B×dim: Σₖ rₖ Cₖ⁻¹ (…) in float64
  let epsBuf = new Float32Array(0);
  let epsView = epsBuf;

  function ensure(batch: number): void {
    if (batch > capacity) {
      capacity = batch;
      R = new Float64Array(batch * K);
      logQ = new Float64Array(batch);
      xNorm2 = new Float64Array(batch);
      acc = new Float64Array(batch * dim);
      epsBuf = new Float32Array(batch * dim);
      epsView = epsBuf;
    }
  }

  function checkArgs(x: unknown, t: number, batch: number): number {
    checkInt('batch', batch, 1);
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    if (x.length !== batch * dim) {
      throw new RangeError(`x must have length batch·dim = ${batch}·${dim} = ${batch * dim}, got ${x.length}`);
    }
    return toAlphaBar(t);
  }

  /** Fills logQ[0..B) and R (B×K responsibilities) for x at timestep t. */
  function posterior(x: Float32Array, t: number, batch: number): void {
    const abar = checkArgs(x, t, batch);
    prepare(abar, t);
    ensure(batch);
    const bad = rowNorms2(x, batch, dim, xNorm2);
    if (bad >= 0) throw nonFiniteError(x, bad, dim);
    R.fill(-Infinity, 0, batch * K);
    if (diagonal) diagonalLogLik(x, batch, dim, aMeans, active, logNorm, invC, R, K);
    else isotropicLogLik(x, batch, dim, means, muNorm2, active, a, logNorm, invC, xNorm2, R, K);
    const failed = logSumExpRows(R, batch, K, logQ);
    if (failed >= 0) {
      throw new RangeError(
        `log q_t(x) is not finite for sample ${failed} at t = ${t} (ᾱ = ${abar}): ` +
          'the variances ᾱσ² + 1 − ᾱ are too small for this x',
      );
    }
  }

  /** acc ← Σₖ rₖ Cₖ⁻¹(x − aμₖ) = −∇log q_t(x), per sample, in float64 (call after `posterior`). */
  function negScore(x: Float32Array, batch: number): void {
    if (diagonal) diagonalNegScore(x, batch, dim, aMeans, active, invC, R, K, acc);
    else isotropicNegScore(x, batch, dim, means, active, a, invC, R, K, acc);
  }

  return {
    name,
    mixture: m,
    alphaBar: (t: number) => toAlphaBar(t),
    eps(x, t, batch) {
      posterior(x, t, batch);
      negScore(x, batch);
      if (epsView.length !== batch * dim) epsView = epsBuf.subarray(0, batch * dim);
      const n = batch * dim;
      for (let i = 0; i < n; i++) epsView[i] = s * acc[i];
      return epsView;
    },
    logDensity(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float64Array, batch, 'out (batch entries)');
      posterior(x, t, batch);
      for (let b = 0; b < batch; b++) res[b] = logQ[b];
      return res;
    },
    score(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float32Array, batch * dim, 'out (batch·dim entries)');
      posterior(x, t, batch);
      negScore(x, batch);
      for (let i = 0; i < batch * dim; i++) res[i] = -acc[i];
      return res;
    },
    responsibilities(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float64Array, batch * K, 'out (batch·K entries)');
      posterior(x, t, batch);
      for (let i = 0; i < batch * K; i++) res[i] = R[i];
      return res;
    },
  };
}

/** The t → ᾱ map of either schedule form, with validation of t and of ᾱ. */
function alphaBarSource(schedule: NoiseSchedule | AlphaBarFunction): (t: number) => number {
  if (typeof schedule !== 'object' || schedule === null) {
    throw new TypeError(`schedule must be a NoiseSchedule or { alphaBar: (t) => number }, got ${describe(schedule)}`);
  }
  if ('alphasCumprod' in schedule && schedule.alphasCumprod instanceof Float64Array) {
    const sched = schedule;
    const T = sched.alphasCumprod.length;
    return (t: number) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t > T - 1) {
        throw new (typeof t === 'number' && Number.isInteger(t) ? RangeError : TypeError)(
          `t must be an integer timestep in [0, ${T - 1}], or negative for the final ᾱ, got ${describe(t)}`,
        );
      }
      return scheduleAlphaBar(sched, t);
    };
  }
  if ('alphaBar' in schedule && typeof schedule.alphaBar === 'function') {
    const f = schedule.alphaBar;
    return (t: number) => {
      if (typeof t !== 'number' || !Number.isFinite(t)) {
        throw new TypeError(`t must be a finite number, got ${describe(t)}`);
      }
      const abar = f(t);
      if (typeof abar !== 'number' || !(abar >= 0 && abar <= 1)) {
        throw new RangeError(`schedule.alphaBar(t) must return a number in [0, 1], got ${describe(abar)} at t = ${t}`);
      }
      return abar;
    };
  }
  throw new TypeError(`schedule must be a NoiseSchedule or { alphaBar: (t) => number }, got ${describe(schedule)}`);
}

function copyMixture(mix: GaussianMixture): GaussianMixture {
  const base = { dim: mix.dim, weights: mix.weights.slice(), means: mix.means.slice() };
  return Object.freeze(
    mix.kind === 'isotropic'
      ? { kind: 'isotropic' as const, ...base, variances: mix.variances.slice() }
      : { kind: 'diagonal' as const, ...base, variances: mix.variances.slice() },
  );
}

function outArray<A extends Float32Array | Float64Array>(
  out: A | undefined,
  type: { new (n: number): A; readonly name: string },
  length: number,
  what: string,
): A {
  if (out === undefined) return new type(length);
  if (!(out instanceof type)) throw new TypeError(`out must be a ${type.name}, got ${describe(out)}`);
  if (out.length !== length) throw new RangeError(`${what} must have length ${length}, got ${out.length}`);
  return out;
}

function pointMassError(k: number, abar: number, t: number, c: number): RangeError {
  return new RangeError(
    `mixture component ${k} has variance ᾱσ² + 1 − ᾱ = ${c} (must be > 0 and invertible) at t = ${t} (ᾱ = ${abar}; σ² = 0 is a point mass), ` +
      'so q_t has no density there: evaluate at ᾱ < 1 or give the component a positive variance',
  );
}

function nonFiniteError(x: Float32Array, b: number, dim: number): RangeError {
  for (let i = b * dim; i < (b + 1) * dim; i++) {
    if (!Number.isFinite(x[i])) return new RangeError(`x[${i}] must be finite, got ${x[i]} (sample ${b})`);
  }
  return new RangeError(`‖x‖² overflows for sample ${b}`);
}
