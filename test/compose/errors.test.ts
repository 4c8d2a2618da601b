import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Denoiser } from '../../src/core/types.ts';
import { isotropicMixture, mixtureDenoiser } from '../../src/toy/gmm.ts';
import { sampleFKC } from '../../src/compose/fkc.ts';
import { levelPath } from '../../src/compose/noise-levels.ts';
import { sampleProduct, sampleReverse } from '../../src/compose/reverse.ts';
import { sampleSMC } from '../../src/compose/smc.ts';
import { mixtureOfModels } from '../../src/compose/composite.ts';

const schedule = makeSchedule({
  betaSchedule: 'linear',
  betaStart: 1e-4,
  betaEnd: 0.02,
  setAlphaToOne: true,
  stepsOffset: 0,
  timestepSpacing: 'trailing',
});
const m2 = [
  mixtureDenoiser(isotropicMixture([0, 0], 2, 1), schedule),
  mixtureDenoiser(isotropicMixture([1, 1], 2, 0.5), schedule),
];
const base = { models: m2, dim: 2, particles: 4, schedule, steps: 5 };
/** A model without a log-density (ε only). */
const epsOnly: Denoiser = { name: 'eps-only', eps: (x) => new Float32Array(x.length) };
/** A model of the wrong dimension: returns 3 values per particle. */
const wrongDim: Denoiser = { name: 'three-d', eps: (_x, _t, batch) => new Float32Array(3 * batch) };

describe('sampler input validation', () => {
  it.each<[string, () => Promise<unknown>, RegExp]>([
    [
      'particles < 1 (reverse)',
      () => sampleReverse({ ...base, particles: 0 }),
      /particles must be an integer in \[1, /,
    ],
    ['particles < 1 (FKC)', () => sampleFKC({ ...base, particles: 0 }), /particles must be an integer in \[1, /],
    ['particles < 1 (SMC)', () => sampleSMC({ ...base, particles: -3 }), /particles must be an integer in \[1, /],
    ['dim 0', () => sampleReverse({ ...base, dim: 0 }), /dim must be an integer in \[1, /],
    ['no models', () => sampleProduct({ ...base, models: [] }), /models must be a non-empty array of Denoisers/],
    [
      'gamma of the wrong length',
      () => sampleReverse({ ...base, gamma: [1] }),
      /gamma must hold one exponent per model \(2\), got 1/,
    ],
    [
      'a model of another dimension',
      () => sampleReverse({ ...base, models: [m2[0], wrongDim] }),
      /models\[1\] \(three-d\) returned a Float32Array of length 12 at t = 999; expected a Float32Array of length particles·dim = 8 \(are the models of the same dimension\?\)/,
    ],
    [
      'negative MCMC step size',
      () => sampleReverse({ ...base, mcmc: { kind: 'ula', stepSize: -1e-3 } }),
      /mcmc\.stepSize must be in \(0, Infinity\], got -0\.001/,
    ],
    [
      'MALA without log-densities',
      () => sampleReverse({ ...base, models: [m2[0], epsOnly], mcmc: { kind: 'mala' } }),
      /mcmc kind 'mala' needs exact log-densities: models\[1\] \(eps-only\) must have a logDensity/,
    ],
    [
      'SMC without log-densities',
      () => sampleSMC({ ...base, models: [epsOnly] }),
      /sampleSMC needs exact log-densities: models\[0\] \(eps-only\)/,
    ],
    ['FKC with b = 0', () => sampleFKC({ ...base, b: 0 }), /b must be in \(0, Infinity\], got 0/],
    [
      'FKC with an ESS threshold of 0',
      () => sampleFKC({ ...base, resample: 'ess', essThreshold: 0 }),
      /essThreshold must be in \(0, 1\], got 0/,
    ],
    [
      'FKC with an unknown resampling policy',
      () => sampleFKC({ ...base, resample: 'sometimes' as never }),
      /resample must be one of 'always', 'ess', 'never'/,
    ],
    [
      'FKC with Γ ≤ 0 and no initial spread',
      () => sampleFKC({ ...base, gamma: [1, -1] }),
      /the sum of gamma \(Γ = 0\) must be > 0/,
    ],
    [
      'a negative initial spread',
      () => sampleReverse({ ...base, initStd: -1 }),
      /initStd must be in \(0, Infinity\], got -1/,
    ],
    [
      'latents of the wrong length',
      () => sampleReverse({ ...base, latents: new Float32Array(7) }),
      /latents must have length particles·dim = 4·2 = 8, got 7/,
    ],
    [
      'an unknown sampler',
      () => sampleReverse({ ...base, sampler: 'euler' as never }),
      /sampler must be one of 'ddpm', 'ddim'/,
    ],
    [
      'a DDIM η above 1',
      () => sampleReverse({ ...base, sampler: 'ddim', ddimEta: 2 }),
      /ddimEta must be in \[0, 1\], got 2/,
    ],
  ])('rejects %s', async (_, run, msg) => {
    await expect(run()).rejects.toThrow(msg);
  });

  it('a schedule whose last step does not reduce the noise is refused with the fix named', () => {
    const sd = makeSchedule({
      betaSchedule: 'linear',
      betaStart: 1e-4,
      betaEnd: 0.02,
      stepsOffset: 0,
      timestepSpacing: 'trailing',
    });
    expect(() => levelPath(sd)).toThrow(/step 999 \(t = 0 → -1\) does not reduce the noise.*setAlphaToOne: true/);
    expect(levelPath(sd, { steps: 10 })).toHaveLength(10); // ends at t = 99 → ᾱ₀
  });

  it('mixtureOfModels checks its weights', () => {
    expect(() => mixtureOfModels(m2, [1], { dim: 2 })).toThrow(/weights must hold one number per model \(2\)/);
    expect(() => mixtureOfModels(m2, [0, 0], { dim: 2 })).toThrow(/weights must have a positive sum/);
    expect(() => mixtureOfModels(m2, [1, -1], { dim: 2 })).toThrow(/weights\[1\] must be in \[0, Infinity\]/);
  });
});

describe('reproducibility and the DDIM path', () => {
  it('the same seed gives the same samples; another seed does not', async () => {
    const a = await sampleFKC({ ...base, seed: 5 });
    const b = await sampleFKC({ ...base, seed: 5 });
    const c = await sampleFKC({ ...base, seed: 6 });
    expect(Array.from(a.samples)).toEqual(Array.from(b.samples));
    expect(Array.from(a.samples)).not.toEqual(Array.from(c.samples));
  });

  it('DDIM (η = 0) with one model equals the core DDIM step chain', async () => {
    const { sampleDDIM } = await import('../../src/core/sampler.ts');
    const latents = new Float32Array(8).map((_, i) => Math.sin(i + 1));
    const r = await sampleReverse({ ...base, models: [m2[1]], sampler: 'ddim', latents });
    const d = await sampleDDIM(m2[1], { steps: 5, schedule, shape: [2], batch: 4, latents });
    expect(Array.from(r.samples)).toEqual(Array.from(d.latents));
  });
});
