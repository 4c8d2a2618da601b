/**
 * The noise levels a compositional sampler walks through, and the DDPM ancestral step between
 * two of them (sources C§1).
 *
 * Timesteps come from the core (`timesteps`, `prevTimestep` in diffusers mode), exactly as
 * `sampleAMDM` visits them, so AMDM and the baselines share a grid. After the last listed
 * timestep the level is the schedule's final ᾱ; build the schedule with `setAlphaToOne: true`
 * so that the last step lands on the data level ᾱ = 1.
 *
 * Between consecutive levels t → t′ (ᾱ′ > ᾱ) the effective one-step quantities are
 *   α = ᾱ/ᾱ′,  β = 1 − α,  σ_t = √(1 − ᾱ),
 * which are the training-grid αₜ, βₜ when t′ = t − 1.
 */
import type { NoiseSchedule, TimestepSpacing } from '../core/schedule.ts';
import { alphaBar, prevTimestep, timesteps } from '../core/schedule.ts';
import { checkInt, checkOneOf, describe } from '../core/validate.ts';

export interface Level {
  /** The training timestep the models are evaluated at. */
  readonly t: number;
  /** The timestep stepped to (negative = the final ᾱ). */
  readonly tPrev: number;
  readonly abar: number;
  readonly abarPrev: number;
  /** Effective α = ᾱ/ᾱ′ and β = 1 − α of the step t → t′. */
  readonly alpha: number;
  readonly beta: number;
  /** σ_t = √(1 − ᾱ_t). */
  readonly sigma: number;
  /** The training-grid β at t (what image-style MCMC step sizes scale with). */
  readonly trainBeta: number;
}

export interface LevelOptions {
  /** Number of sampling steps (default: every training timestep). */
  steps?: number;
  spacing?: TimestepSpacing;
  offset?: number;
}

/** The levels of a sampling run, in sampling order; throws unless ᾱ strictly increases. */
export function levelPath(schedule: NoiseSchedule, opts: LevelOptions = {}): Level[] {
  if (typeof schedule !== 'object' || schedule === null || !(schedule.alphasCumprod instanceof Float64Array)) {
    throw new TypeError(`schedule must be a NoiseSchedule (makeSchedule), got ${describe(schedule)}`);
  }
  const T = schedule.alphasCumprod.length;
  const steps = checkInt('steps', opts.steps ?? T, 1, T);
  const ts = timesteps(schedule, steps, { spacing: opts.spacing, offset: opts.offset });
  return ts.map((t, i) => {
    const tPrev = prevTimestep(schedule, ts, i, 'diffusers');
    const abar = alphaBar(schedule, t);
    const abarPrev = alphaBar(schedule, tPrev);
    if (!(abarPrev > abar)) {
      throw new RangeError(
        `step ${i} (t = ${t} → ${tPrev}) does not reduce the noise: ᾱ goes ${abar} → ${abarPrev}; ` +
          'build the schedule with setAlphaToOne: true (final ᾱ = 1) or use fewer steps',
      );
    }
    const alpha = abar / abarPrev;
    return {
      t,
      tPrev,
      abar,
      abarPrev,
      alpha,
      beta: 1 - alpha,
      sigma: Math.sqrt(1 - abar),
      trainBeta: schedule.betas[t],
    };
  });
}

export const DDPM_VARIANCES = ['beta', 'posterior'] as const;
export type DDPMVariance = (typeof DDPM_VARIANCES)[number];

/**
 * DDPM ancestral step t → t′ with ε (Ho et al. 2020, eq. 11; RRR "beta_forward" in C§1):
 *   mean = (x − (β/σ_t) ε)/√α  ( = c₁ x̂₀ + c₂ x_t ),
 *   std  = √β ('beta', RRR's choice) or √(β (1−ᾱ′)/(1−ᾱ)) ('posterior', 0 at the data level).
 * `driftScale` multiplies the ε term: FKC's (1+b)/2 (C§4.3); 1 is plain DDPM.
 */
export function ddpmStd(level: Level, variance: DDPMVariance): number {
  checkOneOf('variance', variance, DDPM_VARIANCES);
  return variance === 'beta'
    ? Math.sqrt(level.beta)
    : Math.sqrt((level.beta * (1 - level.abarPrev)) / (1 - level.abar));
}

/** The noise and drift of {@link ddpmStepInto}. */
export interface DDPMStepOptions {
  /** The step's standard deviation (`ddpmStd`); 0 adds no noise. */
  std: number;
  /** z ~ N(0, I), needed when std > 0. */
  noise: Float32Array | null;
  /** Multiplies the ε term (FKC's (1+b)/2); default 1, plain DDPM. */
  driftScale?: number;
}

/**
 * out = (x − driftScale·(β/σ)·ε)/√α + std·z (z may be null when std = 0). `out` may alias x. A
 * loop that steps every level builds `opts` once and updates its fields in place.
 */
export function ddpmStepInto(
  level: Level,
  x: Float32Array,
  eps: Float32Array,
  out: Float32Array,
  opts: DDPMStepOptions,
): void {
  const { std, noise, driftScale = 1 } = opts;
  const k = (driftScale * level.beta) / level.sigma;
  const inv = 1 / Math.sqrt(level.alpha);
  const n = x.length;
  if (std > 0 && noise) {
    for (let i = 0; i < n; i++) out[i] = (x[i] - k * eps[i]) * inv + std * noise[i];
  } else {
    for (let i = 0; i < n; i++) out[i] = (x[i] - k * eps[i]) * inv;
  }
}
