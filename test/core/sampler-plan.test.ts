import { describe, expect, it } from 'vitest';
import { resolveAMDMPlan } from '../../src/core/sampler-plan.ts';
import { sampleAMDM, sampleDDIM } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { AMDM_DEFAULTS } from '../../src/core/defaults.ts';
import { sphericalMean } from '../../src/core/rules.ts';
import type { Denoiser } from '../../src/core/types.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';

const schedule = makeSchedule();
const shape = [2, 4, 4];
const dim = 32;
const mean = (v: number) => new Float32Array(dim).fill(v);

describe('resolveAMDMPlan', () => {
  it('resolves every step once, frozen: DDIM coefficients, active models, w and √d-scaled η of the first s steps', () => {
    let weightCalls = 0;
    const plan = resolveAMDMPlan({
      models: 3,
      target: 1,
      steps: 5,
      aggregateSteps: 2,
      shape,
      weights: (i) => (weightCalls++, [0.2 * (i + 1), 0.5]),
      rule: sphericalMean,
    });
    expect(weightCalls).toBe(2); // once per aggregated step, before anything runs
    expect(
      Object.isFrozen(plan) &&
        Object.isFrozen(plan.steps) &&
        plan.steps.every((s) => Object.isFrozen(s) && Object.isFrozen(s.weights)),
    ).toBe(true);
    expect(plan.timesteps).toEqual([801, 601, 401, 201, 1]);
    expect(plan.steps.map((s) => [s.index, s.ddim.t, s.ddim.tPrev, s.aggregate, s.active])).toEqual([
      [0, 801, 601, true, [0, 1, 2]],
      [1, 601, 401, true, [0, 1, 2]],
      [2, 401, 201, false, [1]],
      [3, 201, 1, false, [1]],
      [4, 1, -199, false, [1]],
    ]);
    expect(plan.steps[0].weights).toEqual([0.2, 0.5]);
    expect(plan.steps[1].symmetricWeights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(plan.steps[0].etas).toEqual([0, 1, 2].map(() => AMDM_DEFAULTS.eta * Math.sqrt(dim)));
    expect(plan.steps[2].etas).toEqual([]);
    expect(plan.others).toEqual([0, 2]);
    expect(plan.streams).toEqual([1, 0, 2]);
    expect(plan.seed).toBe(0);
  });
  it('checks the settings of models it only counts, and the new options', () => {
    const base = { models: 2, steps: 4, aggregateSteps: 2, shape };
    expect(() => resolveAMDMPlan({ ...base, models: 0 })).toThrow(
      'models must be an integer in [1, 9007199254740991], got 0',
    );
    expect(() => resolveAMDMPlan({ ...base, weights: [0.5, 0.5] })).toThrow(
      'weights must hold 1 number(s) (one per non-target model), got 2',
    );
    expect(() => resolveAMDMPlan({ ...base, timesteps: [751, 501, 251] })).toThrow(
      'timesteps must be the T = 4 timesteps of the run, integers in [0, 999] in sampling (decreasing) order, got an array of length 3',
    );
    expect(() => resolveAMDMPlan({ ...base, timesteps: [751, 251, 501, 1] })).toThrow('got timesteps[2] = 501');
    expect(() => resolveAMDMPlan({ ...base, timesteps: [751, 501, 251, 1], spacing: 'leading' })).toThrow(
      'spacing and offset choose the timesteps; with timesteps given leave them unset',
    );
    expect(() => resolveAMDMPlan({ ...base, startStep: 5 })).toThrow('startStep must be an integer in [0, 4], got 5');
    expect(() => resolveAMDMPlan({ ...base, streams: [0] })).toThrow(
      'streams must hold one RNG stream per model (2), got an array of length 1',
    );
    expect(() => resolveAMDMPlan({ ...base, streams: [0, -1] })).toThrow(
      'streams[1] must be an integer in [0, 4294967295], got -1',
    );
  });
});

describe('timesteps, startStep and streams', () => {
  it('startStep continues a run from its latent at that step, bit for bit', async () => {
    const seen: Float32Array[] = [];
    const g = gaussianDenoiser(schedule, mean(0.5), 0.2);
    const recording: Denoiser = { eps: (x, t, b) => (seen.push(x.slice()), g.eps(x, t, b)) };
    const full = await sampleDDIM(recording, { steps: 8, shape, seed: 3, batch: 2 });
    for (const k of [0, 3, 7]) {
      const rest = await sampleDDIM(g, {
        steps: 8,
        timesteps: full.timesteps,
        startStep: k,
        latents: seen[k],
        shape,
        batch: 2,
      });
      expect(rest.latents).toEqual(full.latents);
      expect(rest.calls).toEqual([8 - k]);
    }
    const none = await sampleDDIM(g, { steps: 8, startStep: 8, latents: full.latents, shape, batch: 2 });
    expect(none.latents).toEqual(full.latents);
    expect(none.calls).toEqual([0]);
  });
  it('a model draws its noise from the stream given: sampleDDIM with stream k is the k-th model of an AMDM run with s = 0', async () => {
    const models = [0, 1, 2].map((v) => gaussianDenoiser(schedule, mean(v), 0.2));
    const amdm = await sampleAMDM({
      models,
      steps: 5,
      aggregateSteps: 0,
      shape,
      seed: 9,
      ddimEta: 0.5,
      target: 0,
      streams: [0, 7, 3],
    });
    const own = await sampleDDIM(models[0], { steps: 5, shape, seed: 9, ddimEta: 0.5 });
    expect(amdm.latents).toEqual(own.latents);
    const other = await sampleDDIM(models[1], { steps: 5, shape, seed: 9, ddimEta: 0.5, stream: 7 });
    expect(other.initialLatents[0]).toEqual(amdm.initialLatents[1]);
    const dflt = await sampleAMDM({ models, steps: 5, aggregateSteps: 0, shape, seed: 9, ddimEta: 0.5 });
    expect(
      (await sampleAMDM({ models, steps: 5, aggregateSteps: 0, shape, seed: 9, ddimEta: 0.5, streams: [0, 1, 2] }))
        .initialLatents,
    ).toEqual(dflt.initialLatents);
  });
});
