/**
 * The compositional baselines as SD pipeline samplers (src/sd/compose-sampler.ts): each equals
 * the compose sampler it wraps, called directly on the same models, seed and schedule; FKC's
 * population is evaluated in chunks of the run's batch and the kept particles are the evenly
 * spaced slots; the per-model call counts are the batched calls made.
 */
import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import type { Denoiser } from '../../src/core/types.ts';
import { sampleFKC } from '../../src/compose/fkc.ts';
import { sampleReverse } from '../../src/compose/reverse.ts';
import { composeSampler } from '../../src/sd/compose-sampler.ts';
import type { SdSamplerContext } from '../../src/sd/pipeline.ts';

const schedule = makeSchedule();
const shape = [4, 2, 2] as const;
const dim = 16;

/** ε(x) = a·x + c elementwise; with `onlyBatch` it refuses other batch sizes, as MIGC's family does. */
function linear(a: number, c: number, onlyBatch?: number): Denoiser {
  return {
    name: `linear ${a} ${c}`,
    eps: (x, _t, b) => {
      if (onlyBatch !== undefined && b !== onlyBatch) throw new Error(`batch ${onlyBatch} only, got ${b}`);
      if (x.length !== b * dim) throw new Error(`x has ${x.length} values for batch ${b}`);
      return x.map((v) => a * v + c);
    },
  };
}

const context = (models: Denoiser[], batch: number): SdSamplerContext => ({
  models,
  target: 0,
  shape,
  batch,
  steps: 10,
  seed: 5,
  schedule,
});

describe('compose samplers over pipeline denoisers', () => {
  const A = linear(0.6, 0.1);
  const B = linear(0.5, -0.2);
  const background = linear(0.4, 0);
  const direct = { dim, schedule, steps: 10, seed: 5 };

  it("'sum' and 'projective' equal sampleReverse on the same models; one call per model and level", async () => {
    const sum = await composeSampler({ method: 'sum' })(context([A, B], 2));
    const ref = await sampleReverse({ ...direct, models: [A, B], particles: 2, sampler: 'ddpm' });
    expect(sum.latents).toEqual(ref.samples);
    expect(sum.calls).toEqual([10, 10]);
    expect(sum.timesteps).toEqual(ref.timesteps);

    const ddim = await composeSampler({ method: 'sum', step: 'ddim' })(context([A, B], 2));
    expect(ddim.latents).toEqual(
      (await sampleReverse({ ...direct, models: [A, B], particles: 2, sampler: 'ddim' })).samples,
    );

    const proj = await composeSampler({ method: 'projective' })(context([A, B, background], 2));
    const refProj = await sampleReverse({ ...direct, models: [A, B, background], gamma: [1, 1, -1], particles: 2 });
    expect(proj.latents).toEqual(refProj.samples);
    expect(proj.calls).toEqual([10, 10, 10]);
  });

  it("'sum' with mcmcSteps is Du et al.'s reverse + U-HMC with step stepScale/√k", async () => {
    const r = await composeSampler({ method: 'sum', mcmcSteps: 2, leapfrog: 2, stepScale: 0.1 })(context([A, B], 1));
    const ref = await sampleReverse({
      ...direct,
      models: [A, B],
      particles: 1,
      mcmc: { kind: 'uhmc', stepsPerLevel: 2, leapfrog: 2, damping: 0.5, mass: 1, stepSize: 0.1 / Math.sqrt(2) },
    });
    expect(r.latents).toEqual(ref.samples);
    // per model: one call per level, and 1 + K·L gradient calls on each of the 9 levels before the last
    expect(r.calls).toEqual([10 + 9 * (1 + 2 * 2), 10 + 9 * (1 + 2 * 2)]);
  });

  it("'fkc' runs N = particlesPerSample × batch particles in chunks of the batch and keeps evenly spaced slots", async () => {
    const r = await composeSampler({ method: 'fkc', particlesPerSample: 4 })(
      context([linear(0.6, 0.1, 1), linear(0.5, -0.2, 1)], 1),
    );
    const ref = await sampleFKC({ ...direct, models: [A, B], particles: 4, resample: 'ess', essThreshold: 0.5 });
    expect(r.latents).toEqual(ref.samples.slice(2 * dim, 3 * dim));
    expect(r.calls).toEqual([40, 40]);
    const two = await composeSampler({ method: 'fkc', particlesPerSample: 2 })(context([A, B], 2));
    const ref2 = await sampleFKC({ ...direct, models: [A, B], particles: 4, resample: 'ess', essThreshold: 0.5 });
    expect(two.latents).toEqual(
      Float32Array.from([...ref2.samples.slice(dim, 2 * dim), ...ref2.samples.slice(3 * dim)]),
    );
    expect(two.calls).toEqual([20, 20]);
  });

  it('bad options are refused by name', async () => {
    expect(() => composeSampler({ method: 'mean' as never })).toThrow('method must be one of');
    expect(() => composeSampler({ method: 'fkc', mcmcSteps: 2 })).toThrow(
      "mcmcSteps applies to method 'sum' (Du et al. 2023), got 2 with 'fkc'",
    );
    expect(() => composeSampler({ method: 'sum', particlesPerSample: 3 })).toThrow(
      "particlesPerSample applies to method 'fkc', got 3 with 'sum'",
    );
    expect(() => composeSampler({ method: 'sum', damping: 1 })).toThrow('damping must be in [0, 1), got 1');
    expect(() => composeSampler({ method: 'sum', stepScale: 0 })).toThrow('stepScale');
    await expect(composeSampler({ method: 'projective' })(context([A, B], 1))).rejects.toThrow(
      "method 'projective' needs at least two experts and a background (the last model), got 2 model(s)",
    );
  });
});
