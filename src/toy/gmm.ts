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
 * pass over the same pairs. All reductions are float64. Buffers are kept in the denoiser
 * (gmm-posterior.ts) and grow only with the batch: a call at a fixed batch size allocates nothing (except the result
 * of logDensity/score/responsibilities when no `out` is passed).
 */
import { alphaBar as scheduleAlphaBar, type NoiseSchedule } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import { checkInt, describe } from '../core/validate.ts';
import type { GaussianMixture } from './mixture.ts';
import { MixturePosterior } from './gmm-posterior.ts';
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
  const { dim } = m;
  const K = m.weights.length;
  const p = new MixturePosterior(m);

  /** Checks the arguments, then fills the posterior of x at t (`MixturePosterior.posterior`). */
  function posterior(x: unknown, t: number, batch: number): void {
    checkInt('batch', batch, 1);
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    if (x.length !== batch * dim) {
      throw new RangeError(`x must have length batch·dim = ${batch}·${dim} = ${batch * dim}, got ${x.length}`);
    }
    p.posterior(x, t, toAlphaBar(t), batch);
  }

  return {
    name,
    mixture: m,
    alphaBar: (t: number) => toAlphaBar(t),
    eps(x, t, batch) {
      posterior(x, t, batch);
      p.negScore(x, batch);
      return p.eps(batch);
    },
    logDensity(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float64Array, batch, 'out (batch entries)');
      posterior(x, t, batch);
      for (let b = 0; b < batch; b++) res[b] = p.logQ[b];
      return res;
    },
    score(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float32Array, batch * dim, 'out (batch·dim entries)');
      posterior(x, t, batch);
      p.negScore(x, batch);
      for (let i = 0; i < batch * dim; i++) res[i] = -p.acc[i];
      return res;
    },
    responsibilities(x, t, batch, out) {
      checkInt('batch', batch, 1);
      const res = outArray(out, Float64Array, batch * K, 'out (batch·K entries)');
      posterior(x, t, batch);
      for (let i = 0; i < batch * K; i++) res[i] = p.R[i];
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
