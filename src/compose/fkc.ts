/**
 * Feynman–Kac correctors (Skreta et al. 2025) for π_t ∝ Πᵢ (qᵢᵗ)^{γᵢ}, in the discrete VP form
 * of sources C§4.3 (derived there from the continuous rule C§4.1 and checked to
 * reproduce the three code instances of C§4.2). Per step t → t′ with α, β, σ_t (noise-levels.ts):
 *
 *   Δlog w = −½ (Γ−1) d β + (β / (2σ_t²)) ( ‖Σᵢ γᵢ εᵢ‖² − Σᵢ γᵢ ‖εᵢ‖² ),   Γ = Σ γᵢ,
 *   x_{t′} = (x_t − ((1+b)/2)(β/σ_t) ε_comp)/√α + √(bβ̃) z          ('ddpm', default), or
 *   x_{t′} = x_t + ½βx_t − ((1+b)/2)(β/σ_t) ε_comp + √(bβ) z        ('euler', C§4.3 verbatim),
 *
 * with the weights evaluated at x_t (as the notebook does), then systematic resampling of the
 * moved particles — every step (the FKC code; log-weights reset to 0), when ESS < κN (optional
 * gate, C§4.4), or never — and a final resampling so that the returned particles are equally
 * weighted. With b = 1 the 'ddpm' drift is the DDPM ancestral mean (first order equal to Euler);
 * its noise uses DDPM's β̃ = β(1−ᾱ′)/(1−ᾱ) by default (`variance`), which differs from β only
 * in the last steps and adds no noise onto the data level.
 * FKC needs b > 0: a deterministic step would keep resampled duplicates identical.
 * Initial particles: N(0, I/Γ), the product of the k standard normals (C§4.3).
 *
 * Random streams of `seed`: 0 the initial particles, 1 the step noise, 3 the resampling uniforms.
 */
import { throwIfAborted } from '../core/abort.ts';
import { gaussianRng } from '../core/rng.ts';
import { checkNumber, checkOneOf } from '../core/validate.ts';
import { checkModels, makeComposite, type Composite } from './composite.ts';
import { DDPM_VARIANCES, ddpmStd, levelPath, type DDPMVariance, type Level } from './noise-levels.ts';
import type { ResamplePolicy } from './resample.ts';
import { checkCommon, initialParticles } from './reverse.ts';
import type { ComposeCommonOptions, ComposeResult } from './types.ts';
import { checkResampling, weightedParticles } from './weighted-particles.ts';

export interface FKCOptions extends ComposeCommonOptions {
  /** Noise scale b > 0 of C§4.1. Default 1. */
  b?: number;
  integrator?: 'ddpm' | 'euler';
  /**
   * Noise of the 'ddpm' integrator: 'posterior' (default) uses √(b·β̃), β̃ = β(1−ᾱ′)/(1−ᾱ), equal
   * to β up to O(β²) except in the last steps, so the step onto ᾱ = 1 adds no noise; 'beta' uses
   * √(bβ) (C§4.3 verbatim; on a coarse grid it blurs the data by √β of the last step). 'euler'
   * always uses √(bβ).
   */
  variance?: DDPMVariance;
  /** 'always' (default, the FKC code), 'ess' (resample when ESS < essThreshold·N) or 'never'. */
  resample?: ResamplePolicy;
  /** κ in (0, 1] for the ESS gate. Default 0.5. */
  essThreshold?: number;
  /** Initial particles instead of N(0, initStd²I) (initStd defaults to 1/√Γ; Γ = Σγᵢ must be > 0 unless one of them is given). */
  latents?: Float32Array;
}

const INTEGRATORS = ['ddpm', 'euler'] as const;

/**
 * Δlog w of C§4.3 for every particle into `out`, from the per-model ε (`comp.parts`), their
 * γ-weighted sum `comp.eps` and the exponents `comp.gamma`, at level t of the step t → t′.
 */
export function fkcLogWeightIncrement(
  comp: Pick<Composite, 'parts' | 'gamma' | 'eps' | 'dim'>,
  level: Pick<Level, 'beta' | 'sigma'>,
  out: Float64Array,
): Float64Array {
  const { parts, gamma, eps, dim } = comp;
  const batch = out.length;
  const G = gamma.reduce((a, b) => a + b, 0);
  const c0 = -0.5 * (G - 1) * dim * level.beta;
  const c1 = level.beta / (2 * level.sigma * level.sigma);
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    let sq = 0;
    for (let j = o; j < o + dim; j++) sq += eps[j] * eps[j];
    let each = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      let s = 0;
      for (let j = o; j < o + dim; j++) s += p[j] * p[j];
      each += gamma[i] * s;
    }
    out[b] = c0 + c1 * (sq - each);
  }
  return out;
}

export async function sampleFKC(opts: FKCOptions): Promise<ComposeResult> {
  const gamma = checkModels(opts?.models, opts?.gamma);
  const G = gamma.reduce((a, b) => a + b, 0);
  if (opts.initStd === undefined && opts.latents === undefined && !(G > 0)) {
    throw new RangeError(
      `the sum of gamma (Γ = ${G}) must be > 0 for the default initial N(0, I/Γ); pass initStd or latents`,
    );
  }
  const setup = checkCommon({
    ...opts,
    initStd: opts.initStd ?? 1 / Math.sqrt(G > 0 ? G : 1),
  });
  const { dim, particles, seed } = setup;
  const b = checkNumber('b', opts.b ?? 1, 0, Infinity, { minExclusive: true });
  const integrator = checkOneOf('integrator', opts.integrator ?? 'ddpm', INTEGRATORS);
  const variance = checkOneOf('variance', opts.variance ?? 'posterior', DDPM_VARIANCES);
  const resampling = checkResampling(opts, 'always');
  const levels = levelPath(opts.schedule, { steps: opts.steps, spacing: opts.spacing, offset: opts.offset });
  const comp = makeComposite(opts.models, gamma, dim, particles);

  const x = initialParticles(setup, opts.latents);
  const n = dim * particles;
  const noise = new Float32Array(n);
  const inc = new Float64Array(particles);
  const population = weightedParticles(x, dim, { ...resampling, seed, steps: levels.length });
  const logw = population.logw;
  const stepRng = gaussianRng(seed, 1);
  const drift = (1 + b) / 2;

  for (let i = 0; i < levels.length; i++) {
    throwIfAborted(opts.signal);
    const l = levels[i];
    await comp.evalEps(x, l.t);
    fkcLogWeightIncrement(comp, l, inc);
    for (let p = 0; p < particles; p++) logw[p] += inc[p];
    const std = Math.sqrt(b) * (integrator === 'ddpm' ? ddpmStd(l, variance) : Math.sqrt(l.beta));
    stepRng.fillNormal(noise);
    const k = (drift * l.beta) / l.sigma;
    const e = comp.eps;
    if (integrator === 'ddpm') {
      const inv = 1 / Math.sqrt(l.alpha);
      for (let j = 0; j < n; j++) x[j] = (x[j] - k * e[j]) * inv + std * noise[j];
    } else {
      const grow = 1 + 0.5 * l.beta;
      for (let j = 0; j < n; j++) x[j] = grow * x[j] - k * e[j] + std * noise[j];
    }
    population.afterStep(i);
  }
  const { ess, resamples } = population.finish();
  return { samples: x, dim, particles, timesteps: levels.map((l) => l.t), evals: { ...comp.counts }, ess, resamples };
}
