/**
 * Reverse diffusion with a composed ε, optionally corrected by MCMC at every noise level:
 *
 * - Du et al. 2023 without correction ("sum of scores", sources C§2.2 "Reverse"):
 *   ε_comp = Σᵢ εᵢ, then a DDPM (or DDIM) step.
 * - Du et al. 2023 with MCMC: after the step to level t′ ≥ 0, K kernel steps (ULA, MALA, U-HMC,
 *   HMC; `mcmc.ts`) targeting π_{t′} ∝ Πᵢ qᵢ^{t′} with ∇log π = −ε_comp(x, t′)/σ_{t′}
 *   (C§2.3, "reverse step and then MCMC", evaluated at the new level — the recommended port, not
 *   the image code's off-by-one). No MCMC after the step onto the final level.
 * - Bradley et al. 2025, projective composition (C§3): ε_comp = Σᵢ εᵢ − (k−1) ε_background.
 *
 * Random streams of `seed`: 0 the initial particles, 1 the step noise, 2 the MCMC kernel.
 */
import type { NoiseSchedule } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import { ddimCoefficients, ddimStepInto, type DDIMStepOptions } from '../core/ddim.ts';
import { throwIfAborted } from '../core/abort.ts';
import { gaussianRng } from '../core/rng.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../core/validate.ts';
import { checkModels, makeComposite, requireExact, type Composite } from './composite.ts';
import {
  DDPM_VARIANCES,
  ddpmStd,
  ddpmStepInto,
  levelPath,
  type DDPMStepOptions,
  type DDPMVariance,
  type Level,
} from './noise-levels.ts';
import { makeMCMCKernel, type MCMCOptions, type MCMCTarget } from './mcmc.ts';
import type { ComposeCommonOptions, ComposeResult } from './types.ts';

export interface ReverseOptions extends ComposeCommonOptions {
  /** 'ddpm' (default) ancestral step, or 'ddim'. */
  sampler?: 'ddpm' | 'ddim';
  /** DDPM variance: 'posterior' β̃ (default; no noise onto the data level) or 'beta' (RRR). */
  variance?: DDPMVariance;
  /** DDIM η in [0, 1]. Default 0. */
  ddimEta?: number;
  /** Initial particles (particles·dim values) instead of N(0, initStd²I); initStd defaults to 1. */
  latents?: Float32Array;
  /** MCMC correction at every level (Du et al. 2023); null/undefined for none. */
  mcmc?: MCMCOptions | null;
}

const SAMPLERS = ['ddpm', 'ddim'] as const;

/** Checks the options common to every sampler; returns the resolved basics. */
export function checkCommon(opts: {
  dim: unknown;
  particles: unknown;
  seed?: unknown;
  initStd?: unknown;
  latents?: unknown;
}): ParticleSetup {
  if (typeof opts !== 'object' || opts === null)
    throw new TypeError(`options must be an object, got ${describe(opts)}`);
  const dim = checkInt('dim', opts.dim, 1);
  const particles = checkInt('particles', opts.particles, 1);
  const seed = checkInt('seed', opts.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const initStd = checkNumber('initStd', opts.initStd ?? 1, 0, Infinity, { minExclusive: true });
  if (opts.latents !== undefined) {
    if (!(opts.latents instanceof Float32Array))
      throw new TypeError(`latents must be a Float32Array, got ${describe(opts.latents)}`);
    if (opts.latents.length !== particles * dim) {
      throw new RangeError(
        `latents must have length particles·dim = ${particles}·${dim} = ${particles * dim}, got ${opts.latents.length}`,
      );
    }
    for (let i = 0; i < opts.latents.length; i++) {
      if (!Number.isFinite(opts.latents[i]))
        throw new RangeError(`latents[${i}] must be finite, got ${opts.latents[i]}`);
    }
  }
  return { dim, particles, seed, initStd };
}

/** The basics every sampler checks (`checkCommon`): the particles' size and number, the seed, the initial spread. */
export interface ParticleSetup {
  dim: number;
  particles: number;
  seed: number;
  initStd: number;
}

/** The initial particles: a copy of `latents`, or N(0, initStd²I) from stream 0 of the seed. */
export function initialParticles(setup: ParticleSetup, latents?: Float32Array): Float32Array {
  const { dim, particles, seed, initStd } = setup;
  if (latents) return latents.slice();
  return gaussianRng(seed, 0).fillNormal(new Float32Array(dim * particles), 0, dim * particles, initStd);
}

/** The MCMC target π_t ∝ Πᵢ qᵢᵗ^{γᵢ} of a composite at a settable level (one object per run). */
export function compositeTarget(comp: Composite): MCMCTarget & { setLevel(t: number, sigma: number): void } {
  let t = 0;
  let sigma = 1;
  const n = comp.batch * comp.dim;
  return {
    setLevel(tt, s) {
      t = tt;
      sigma = s;
    },
    async grad(x, out) {
      await comp.evalEps(x, t);
      const e = comp.eps;
      const k = -1 / sigma;
      for (let i = 0; i < n; i++) out[i] = k * e[i];
    },
    async logDensity(x, out) {
      await comp.evalLogDensity(x, t, out);
    },
  };
}

/** The level an MCMC correction runs at after the step t → t′ (t′ ≥ 0). */
function mcmcLevelAfter(schedule: NoiseSchedule, step: Level): Level {
  const t = step.tPrev;
  const abar = step.abarPrev;
  const beta = schedule.betas[t];
  return {
    t,
    tPrev: t - 1,
    abar,
    abarPrev: abar / (1 - beta),
    alpha: 1 - beta,
    beta,
    sigma: Math.sqrt(1 - abar),
    trainBeta: beta,
  };
}

/** Reverse diffusion with ε_comp = Σ γᵢ εᵢ (+ optional MCMC at every level). */
export async function sampleReverse(opts: ReverseOptions): Promise<ComposeResult> {
  const setup = checkCommon(opts);
  const { dim, particles, seed } = setup;
  const gamma = checkModels(opts.models, opts.gamma);
  const sampler = checkOneOf('sampler', opts.sampler ?? 'ddpm', SAMPLERS);
  const variance = checkOneOf('variance', opts.variance ?? 'posterior', DDPM_VARIANCES);
  const ddimEta = checkNumber('ddimEta', opts.ddimEta ?? 0, 0, 1);
  const levels = levelPath(opts.schedule, { steps: opts.steps, spacing: opts.spacing, offset: opts.offset });
  const mcmcOpts = opts.mcmc ?? null;
  const comp = makeComposite(opts.models, gamma, dim, particles);
  const kernel = mcmcOpts ? makeMCMCKernel(mcmcOpts, dim, particles, gaussianRng(seed, 2)) : null;
  if (kernel && (kernel.options.kind === 'mala' || kernel.options.kind === 'hmc'))
    requireExact(opts.models, `mcmc kind '${kernel.options.kind}'`);
  const target = kernel ? compositeTarget(comp) : null;
  const mcmcLevels = levels.map((l) => (l.tPrev >= 0 ? mcmcLevelAfter(opts.schedule, l) : null));

  const x = initialParticles(setup, opts.latents);
  const n = dim * particles;
  const noise = new Float32Array(n);
  const stepRng = gaussianRng(seed, 1);
  const ddim = sampler === 'ddim' ? levels.map((l) => ddimCoefficients(opts.schedule, l.t, l.tPrev, ddimEta)) : null;
  const stds = levels.map((l) => ddpmStd(l, variance));
  // the steps' options, updated in place: a step allocates nothing
  const ddimStep: DDIMStepOptions = { prev: x, noise: null };
  const ddpmStep: DDPMStepOptions = { std: 0, noise: null };

  for (let i = 0; i < levels.length; i++) {
    throwIfAborted(opts.signal);
    const level = levels[i];
    await comp.evalEps(x, level.t);
    if (ddim) {
      const c = ddim[i];
      if (c.sigma > 0) stepRng.fillNormal(noise);
      ddimStep.noise = c.sigma > 0 ? noise : null;
      ddimStepInto(c, x, comp.eps, x, ddimStep);
    } else {
      const std = stds[i];
      if (std > 0) stepRng.fillNormal(noise);
      ddpmStep.std = std;
      ddpmStep.noise = std > 0 ? noise : null;
      ddpmStepInto(level, x, comp.eps, x, ddpmStep);
    }
    const ml = mcmcLevels[i];
    if (kernel && target && ml) {
      target.setLevel(ml.t, ml.sigma);
      await kernel.run(target, x, ml);
    }
  }
  return {
    samples: x,
    dim,
    particles,
    timesteps: levels.map((l) => l.t),
    evals: { ...comp.counts },
    ...(kernel ? { acceptance: kernel.stats.proposed > 0 ? kernel.stats.accepted / kernel.stats.proposed : 1 } : {}),
  };
}

/** Du et al. 2023: product of experts by the sum of their scores (γ = 1), ± MCMC. */
export function sampleProduct(
  opts: Omit<ReverseOptions, 'gamma'> & { gamma?: readonly number[] },
): Promise<ComposeResult> {
  return sampleReverse(opts);
}

export type ProjectiveOptions = Omit<ReverseOptions, 'gamma' | 'models'> & {
  /** The k conditional models. */
  models: readonly Denoiser[];
  /** The background (unconditional) model p_b. */
  background: Denoiser;
};

/**
 * Bradley et al. 2025, projective composition (sources C§3):
 * ε = Σᵢ εᵢ − (k−1) ε_b, then DDPM/DDIM. Exact when the conditionals are factorized.
 */
export function sampleProjective(opts: ProjectiveOptions): Promise<ComposeResult> {
  checkModels(opts?.models, undefined);
  if (!opts.background || typeof opts.background.eps !== 'function') {
    throw new TypeError(
      `background must be a Denoiser with an eps(x, t, batch) method, got ${describe(opts.background)}`,
    );
  }
  const k = opts.models.length;
  const { background, ...rest } = opts;
  return sampleReverse({
    ...rest,
    models: [...opts.models, background],
    gamma: [...opts.models.map(() => 1), -(k - 1)],
  });
}

/** γ of the projective composition of k conditionals plus a background (last). */
export function projectiveGamma(k: number): number[] {
  checkInt('k', k, 1);
  return [...new Array<number>(k).fill(1), -(k - 1)];
}
