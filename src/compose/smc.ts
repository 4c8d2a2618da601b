/**
 * Discrete-time SMC sampler with exact energies (the Thornton et al. 2025 construction as in
 * sources C§5; here with the toys' exact log qᵢᵗ instead of distilled ones):
 *
 *   targets     π̃_t(x) = Πᵢ qᵢᵗ(x)^{γᵢ}         (the final level is the data level when ᾱ = 1)
 *   proposal    M(x′|x_t) = N(x′; (x_t − (β/σ_t) ε_comp)/√α, β I)    (DDPM ancestral, v = β)
 *   backward    L(x_t|x′) = N(x_t; √α x′, β I)                        (the forward noising kernel)
 *   weight      log G = log π̃_{t′}(x′) + log L(x_t|x′) − log π̃_t(x_t) − log M(x′|x_t),
 *
 * plus the initial importance weight log π̃_{t₀}(x) − log N(x; 0, s²I), so the sampler is
 * consistent from any initial spread. Resampling (systematic) when ESS < κN (κ = 0.5) and
 * always at the end. Random streams of `seed`: 0 initial, 1 proposals, 3 resampling.
 */
import { throwIfAborted } from '../core/abort.ts';
import { gaussianRng } from '../core/rng.ts';
import { checkModels, makeComposite, requireExact } from './composite.ts';
import { levelPath } from './noise-levels.ts';
import type { ResamplePolicy } from './resample.ts';
import { checkCommon, initialParticles } from './reverse.ts';
import type { ComposeCommonOptions, ComposeResult } from './types.ts';
import { checkResampling, weightedParticles } from './weighted-particles.ts';

/** The models must have an exact `logDensity` (ExactModel); initStd defaults to 1/√Γ when Γ > 0, else 1. */
export interface SMCOptions extends ComposeCommonOptions {
  /** Default 'ess'. */
  resample?: ResamplePolicy;
  /** κ in (0, 1]. Default 0.5. */
  essThreshold?: number;
}

// Over 60 lines: one sampler's loop (C§4.1): initial weights, then per level the proposal, its weight and the resampling, in order.
export async function sampleSMC(opts: SMCOptions): Promise<ComposeResult> {
  const gamma = checkModels(opts?.models, opts?.gamma);
  requireExact(opts.models, 'sampleSMC');
  const G = gamma.reduce((a, b) => a + b, 0);
  const setup = checkCommon({
    ...opts,
    initStd: opts.initStd ?? (G > 0 ? 1 / Math.sqrt(G) : 1),
  });
  const { dim, particles, seed, initStd } = setup;
  const resampling = checkResampling(opts, 'ess');
  const levels = levelPath(opts.schedule, { steps: opts.steps, spacing: opts.spacing, offset: opts.offset });
  const comp = makeComposite(opts.models, gamma, dim, particles);

  const x = initialParticles(setup);
  const n = dim * particles;
  const xNew = new Float32Array(n);
  const noise = new Float32Array(n);
  const logPi = new Float64Array(particles); // log π̃_t(x_t) at the current level
  const logPiNew = new Float64Array(particles);
  // the last step's resampling is left to the final one
  const population = weightedParticles(x, dim, {
    ...resampling,
    seed,
    steps: levels.length,
    carried: [logPi],
    gateLastStep: false,
  });
  const logw = population.logw;
  const stepRng = gaussianRng(seed, 1);

  // Initial importance weight against N(0, s²I) (normalizers cancel on normalization).
  await comp.evalLogDensity(x, levels[0].t, logPi);
  const inv2s2 = 1 / (2 * initStd * initStd);
  for (let p = 0; p < particles; p++) {
    let q = 0;
    for (let j = p * dim; j < (p + 1) * dim; j++) q += x[j] * x[j];
    logw[p] = logPi[p] + q * inv2s2;
  }
  let currentT = levels[0].t;

  for (let i = 0; i < levels.length; i++) {
    throwIfAborted(opts.signal);
    const l = levels[i];
    if (l.t !== currentT) await comp.evalLogDensity(x, l.t, logPi);
    await comp.evalEps(x, l.t);
    const e = comp.eps;
    const k = l.beta / l.sigma;
    const inv = 1 / Math.sqrt(l.alpha);
    const sa = Math.sqrt(l.alpha);
    const std = Math.sqrt(l.beta);
    stepRng.fillNormal(noise);
    for (let j = 0; j < n; j++) xNew[j] = (x[j] - k * e[j]) * inv + std * noise[j];
    await comp.evalLogDensity(xNew, l.tPrev, logPiNew);
    const inv2v = 1 / (2 * l.beta);
    for (let p = 0; p < particles; p++) {
      let back = 0; // ‖x_t − √α x′‖²
      let fwd = 0; // ‖x′ − m‖²
      for (let j = p * dim; j < (p + 1) * dim; j++) {
        const db = x[j] - sa * xNew[j];
        const df = xNew[j] - (x[j] - k * e[j]) * inv;
        back += db * db;
        fwd += df * df;
      }
      // Both kernels have variance β, so their normalizers cancel.
      const g = logPiNew[p] - logPi[p] + (fwd - back) * inv2v;
      if (Number.isNaN(g)) throw new RangeError(`SMC weight is NaN for particle ${p} at t = ${l.t}`);
      logw[p] += g;
    }
    x.set(xNew);
    logPi.set(logPiNew);
    currentT = l.tPrev;
    population.afterStep(i);
  }
  const { ess, resamples } = population.finish();
  return { samples: x, dim, particles, timesteps: levels.map((l) => l.t), evals: { ...comp.counts }, ess, resamples };
}
