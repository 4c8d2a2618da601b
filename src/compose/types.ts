/**
 * Types shared by the compositional baselines.
 *
 * A composition of models 1..k with exponents γᵢ targets, at noise level t, the tilted product
 *   π_t(x) ∝ Πᵢ qᵢᵗ(x)^{γᵢ},   ∇log π_t = Σᵢ γᵢ ∇log qᵢᵗ = −(Σᵢ γᵢ εᵢ(x, t)) / σ_t
 * (sources C§1: every linear score combination is a composite ε because all
 * models share σ_t = √(1−ᾱ_t)). Product / sum of scores: γ = (1, …, 1); projective
 * composition: γ = (1, …, 1, −(k−1)) with the background last.
 */
import type { Denoiser } from '../core/types.ts';
import type { NoiseSchedule, TimestepSpacing } from '../core/schedule.ts';

/** Options every compositional sampler takes (reverse / product, projective, FKC, SMC). */
export interface ComposeCommonOptions {
  /** The models composed; all share the schedule and the sample dimension. */
  models: readonly Denoiser[];
  /** γᵢ per model (default all 1: the product / sum of scores). */
  gamma?: readonly number[];
  /** Elements per particle. */
  dim: number;
  /** Number of particles (≥ 1), sampled as one batch. */
  particles: number;
  schedule: NoiseSchedule;
  /** Sampling steps (default: every training timestep), spacing and offset as in the core. */
  steps?: number;
  spacing?: TimestepSpacing;
  offset?: number;
  /** Seed of the initial particles and of every random choice of the sampler. Default 0. */
  seed?: number;
  /** Standard deviation of the initial N(0, s²I) particles (default per sampler). */
  initStd?: number;
  signal?: AbortSignal;
}

/**
 * A denoiser that also knows its exact noised log-density log q_t(x) (normalized or up to an
 * x-independent constant). Metropolis corrections (MALA, HMC) and the discrete SMC need it.
 */
export interface ExactModel extends Denoiser {
  logDensity(x: Float32Array, t: number, batch: number, out?: Float64Array): Float64Array | Promise<Float64Array>;
}

/** Model calls spent by a sampler; one call = one batched evaluation of one model. */
export interface EvalCounts {
  /** Calls of `eps`, summed over models. */
  eps: number;
  /** Calls of `logDensity`, summed over models. */
  logDensity: number;
}

/** What every compositional sampler returns. */
export interface ComposeResult {
  /** Final particles, `particles·dim` values (equally weighted). */
  samples: Float32Array;
  dim: number;
  particles: number;
  /** The training timesteps visited, in sampling order. */
  timesteps: number[];
  evals: EvalCounts;
  /** MCMC: accepted / proposed over all levels (1 for unadjusted kernels); absent otherwise. */
  acceptance?: number;
  /** SMC/FKC: effective sample size after each step's reweighting (before resampling). */
  ess?: Float64Array;
  /** SMC/FKC: how many times the particles were resampled (the final resampling included). */
  resamples?: number;
}

/** A Gaussian mixture with full covariances, p(x) = Σₖ πₖ N(x; μₖ, Σₖ) (full-mixture.ts). */
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
