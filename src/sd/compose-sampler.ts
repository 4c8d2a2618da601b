/**
 * The compositional baselines of the paper's Table 5 as SD pipeline samplers
 * (`SdRunOptions.sampler`): they run over the same model denoisers as AMDM (each its family's
 * CFG ε on its own conditions), so a baseline and AMDM differ only in how the models' ε are used.
 *
 * - 'sum': Du et al. 2023 without correction ("sum of scores", sources C§2.2): ε = Σᵢ εᵢ, one
 *   reverse DDPM (posterior variance) or DDIM (η = 0) step per level; with `mcmcSteps` > 0, K
 *   unadjusted HMC steps after each step onto level t′ ≥ 0 (C§2.3). Learned models have no
 *   log-density, so the Metropolis-adjusted kernels (MALA, HMC) cannot run on them.
 * - 'projective': Bradley et al. 2025 (C§3), ε = Σᵢ εᵢ − (k−1)·ε_background with the run's last
 *   model as the background and the others as the k experts.
 * - 'fkc': Skreta et al. 2025 (C§4.3), the product with γ = 1, b = 1, DDPM integrator; the run's
 *   batch is the particle population, resampled (systematic) when the ESS falls below
 *   `essThreshold`·N. After the final resampling the particles are equally weighted.
 *
 * The initial particles come from the seed (compose's stream 0). The U-HMC leapfrog step is
 * ε_t = stepScale·√((ᾱσ₀² + 1 − ᾱ)/k), as experiment 6 sets it for the Shapes experts, with
 * σ₀ = 1 (SD latents are scaled to about unit standard deviation), where it is stepScale/√k at
 * every level.
 */
import type { Denoiser } from '../core/types.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../core/validate.ts';
import { sampleFKC } from '../compose/fkc.ts';
import { evenlySpacedParticles } from '../compose/resample.ts';
import type { MCMCOptions } from '../compose/mcmc.ts';
import { sampleReverse } from '../compose/reverse.ts';
import type { ComposeResult } from '../compose/types.ts';
import type { SdSampler, SdSamplerContext } from './pipeline-types.ts';

export const COMPOSE_SAMPLER_METHODS = ['sum', 'projective', 'fkc'] as const;
export type ComposeSamplerMethod = (typeof COMPOSE_SAMPLER_METHODS)[number];

export interface ComposeSamplerOptions {
  method: ComposeSamplerMethod;
  /** sum / projective: the reverse step, 'ddpm' (default) or 'ddim' (η = 0). */
  step?: 'ddpm' | 'ddim';
  /** sum: K unadjusted HMC steps per level (default 0: none). */
  mcmcSteps?: number;
  /** U-HMC: leapfrog steps L (default 3), momentum damping ρ (default 0.5), step scale (default 0.2). */
  leapfrog?: number;
  damping?: number;
  stepScale?: number;
  /** fkc: resample when ESS < essThreshold·N, in (0, 1] (default 0.5). */
  essThreshold?: number;
  /**
   * fkc: particles per kept sample (default 1): the population is N = this × the run's batch,
   * evaluated in chunks of the run's batch (a family may take batch 1 only), and the run's batch
   * of evenly spaced particles is kept after the final resampling.
   */
  particlesPerSample?: number;
}

export const COMPOSE_SAMPLER_DEFAULTS = Object.freeze({
  step: 'ddpm' as const,
  mcmcSteps: 0,
  leapfrog: 3,
  damping: 0.5,
  stepScale: 0.2,
  essThreshold: 0.5,
  particlesPerSample: 1,
});

/** Checks the options (naming the bad one) and returns the sampler. */
export function composeSampler(options: ComposeSamplerOptions): SdSampler {
  if (options === null || typeof options !== 'object')
    throw new TypeError(`compose sampler options must be an object, got ${describe(options)}`);
  const o = { ...COMPOSE_SAMPLER_DEFAULTS, ...options };
  const method = checkOneOf('method', o.method, COMPOSE_SAMPLER_METHODS);
  const step = checkOneOf('step', o.step, ['ddpm', 'ddim'] as const);
  const mcmcSteps = checkInt('mcmcSteps', o.mcmcSteps, 0, 1000);
  if (mcmcSteps > 0 && method !== 'sum')
    throw new RangeError(`mcmcSteps applies to method 'sum' (Du et al. 2023), got ${mcmcSteps} with '${method}'`);
  const leapfrog = checkInt('leapfrog', o.leapfrog, 1, 100);
  const damping = checkNumber('damping', o.damping, 0, 1);
  if (damping === 1) throw new RangeError('damping must be in [0, 1), got 1 (the momentum would never be refreshed)');
  const stepScale = checkNumber('stepScale', o.stepScale, 0, 10, { minExclusive: true });
  const essThreshold = checkNumber('essThreshold', o.essThreshold, 0, 1, { minExclusive: true });
  const perSample = checkInt('particlesPerSample', o.particlesPerSample, 1, 1000);
  if (perSample > 1 && method !== 'fkc')
    throw new RangeError(`particlesPerSample applies to method 'fkc', got ${perSample} with '${method}'`);

  return async (c: SdSamplerContext) => {
    const k = method === 'projective' ? c.models.length - 1 : c.models.length;
    if (k < (method === 'projective' ? 2 : 1))
      throw new RangeError(
        `method 'projective' needs at least two experts and a background (the last model), got ${c.models.length} model(s)`,
      );
    const dim = c.shape[0] * c.shape[1] * c.shape[2];
    const { models, calls } = chunked(c.models, c.batch, dim);
    const common = {
      models,
      dim,
      particles: c.batch * perSample,
      schedule: c.schedule,
      steps: c.steps,
      seed: c.seed,
      signal: c.signal,
    };
    let r: ComposeResult;
    if (method === 'fkc') {
      r = await sampleFKC({ ...common, resample: 'ess', essThreshold });
    } else {
      const mcmc: MCMCOptions | null =
        mcmcSteps > 0
          ? {
              kind: 'uhmc',
              stepsPerLevel: mcmcSteps,
              leapfrog,
              damping,
              mass: 1,
              stepSize: stepScale / Math.sqrt(k),
            }
          : null;
      const gamma = method === 'projective' ? [...models.slice(0, k).map(() => 1), -(k - 1)] : undefined;
      r = await sampleReverse({ ...common, gamma, sampler: step, mcmc });
    }
    return { latents: evenlySpacedParticles(r.samples, r.particles, c.batch, dim), calls, timesteps: r.timesteps };
  };
}

/**
 * The models evaluated in chunks of `batch` particles (the batch their denoisers were built for),
 * with a per-model count of those calls. A population of exactly `batch` is one call.
 */
function chunked(models: readonly Denoiser[], batch: number, dim: number): { models: Denoiser[]; calls: number[] } {
  const calls = models.map(() => 0);
  const wrapped = models.map((m, i): Denoiser => {
    let out = new Float32Array(0);
    return {
      name: m.name,
      eps: async (x, t, particles) => {
        if (particles === batch) {
          calls[i]++;
          return m.eps(x, t, batch);
        }
        if (out.length !== particles * dim) out = new Float32Array(particles * dim);
        for (let p = 0; p < particles; p += batch) {
          calls[i]++;
          out.set(await m.eps(x.subarray(p * dim, (p + batch) * dim), t, batch), p * dim);
        }
        return out;
      },
    };
  });
  return { models: wrapped, calls };
}
