/**
 * The weighted particle population FKC and SMC share: log-weights, the ESS after each step, and
 * systematic resampling (sources C§4.4) with the uniforms of stream 3 of the seed — every step
 * ('always'), when ESS < κN ('ess', C§4.4's gate) or never — plus a final resampling so that
 * the returned particles are equally weighted.
 */
import { gaussianRng } from '../core/rng.ts';
import { checkNumber, checkOneOf } from '../core/validate.ts';
import {
  effectiveSampleSize,
  gatherInto,
  gatherScalars,
  RESAMPLE_POLICIES,
  systematicResample,
  type ResamplePolicy,
} from './resample.ts';

export interface Resampling {
  policy: ResamplePolicy;
  /** κ of the ESS gate, in (0, 1]. */
  kappa: number;
}

/** Checks a sampler's `resample` and `essThreshold` options (κ defaults to 0.5). */
export function checkResampling(
  opts: { resample?: unknown; essThreshold?: unknown },
  defaultPolicy: ResamplePolicy,
): Resampling {
  return {
    policy: checkOneOf('resample', opts.resample ?? defaultPolicy, RESAMPLE_POLICIES),
    kappa: checkNumber('essThreshold', opts.essThreshold ?? 0.5, 0, 1, { minExclusive: true }),
  };
}

export interface WeightedParticles {
  /** log wᵢ per particle; the sampler adds each step's increments. */
  readonly logw: Float64Array;
  /** Records the ESS of step i (after its reweighting) and resamples as the policy says. */
  afterStep(i: number): void;
  /** The final resampling (unless the weights are already equal); the ESS per step and the resampling count. */
  finish(): { ess: Float64Array; resamples: number };
}

/**
 * The population over the particles `x` (particles × dim values, resampled in place) for
 * `steps` steps. `carried`: per-particle values that move with their particles on resampling.
 * `gateLastStep: false` leaves the last step's resampling to `finish`.
 */
export function weightedParticles(
  x: Float32Array,
  dim: number,
  opts: Resampling & { seed: number; steps: number; carried?: readonly Float64Array[]; gateLastStep?: boolean },
): WeightedParticles {
  const particles = x.length / dim;
  const { policy, kappa, steps } = opts;
  const carried = opts.carried ?? [];
  const gateLast = opts.gateLastStep ?? true;
  const scratch = new Float32Array(x.length);
  const logw = new Float64Array(particles);
  const idx = new Int32Array(particles);
  const pScratch = new Float64Array(particles);
  const ess = new Float64Array(steps);
  const resRng = gaussianRng(opts.seed, 3);
  let resamples = 0;

  const resampleNow = () => {
    systematicResample(logw, resRng.uniform(), idx, pScratch);
    gatherInto(x, dim, idx, scratch);
    for (const v of carried) gatherScalars(v, idx, pScratch);
    logw.fill(0);
    resamples++;
  };

  return {
    logw,
    afterStep(i) {
      ess[i] = effectiveSampleSize(logw);
      if (!gateLast && i === steps - 1) return;
      if (policy === 'always' || (policy === 'ess' && ess[i] < kappa * particles)) resampleNow();
    },
    finish() {
      if (effectiveSampleSize(logw) < particles * (1 - 1e-12)) resampleNow();
      return { ess, resamples };
    },
  };
}
