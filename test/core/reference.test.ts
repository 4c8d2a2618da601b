import { describe, expect, it } from 'vitest';
import { referenceMuCoefficients, sampleAMDMReference } from '../../src/core/reference.ts';
import { sampleDDIM } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { randn } from '../../src/core/rng.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';

const schedule = makeSchedule();
const shape = [4, 2, 2];
const dim = 16;

describe('official-code reference preset', () => {
  it.each([
    // sources M§2.1: N, i, t_used, coeff1, coeff2
    [50, 1, 981, 1.005894082, 0.011787716],
    [50, 7, 861, 1.00488068, 0.009841292],
    [20, 2, 901, 1.005207616, 0.01046177],
    [10, 3, 701, 1.003680856, 0.007669034],
  ])('compute_mu coefficients, N=%i i=%i (t_used %i)', (_N, _i, t, c1, c2) => {
    const c = referenceMuCoefficients(schedule, t);
    expect(Math.abs(c.coeff1 - c1)).toBeLessThan(6e-10);
    expect(Math.abs(c.coeff2 - c2)).toBeLessThan(6e-10);
  });
  it('aggregates at max(1, optimStart)…optimEnd only: exactly 3 merges for 1..3, none at i = 0', async () => {
    const models = [
      gaussianDenoiser(schedule, new Float32Array(dim).fill(1), 0.2),
      gaussianDenoiser(schedule, new Float32Array(dim).fill(-1), 0.2),
    ];
    const r = await sampleAMDMReference({
      models,
      steps: 10,
      omegas: [0.5],
      optimStart: 0,
      optimEnd: 3,
      p: [1, 1],
      shape,
      seed: 1,
    });
    expect(r.aggregatedAt).toEqual([1, 2, 3]);
    expect(r.calls).toEqual([10, 4]);
  });
  it('one merge by hand (two models, ω = 0.5, p absolute over the batch)', async () => {
    const m0 = gaussianDenoiser(schedule, new Float32Array(dim).fill(0.5), 0.2),
      m1 = gaussianDenoiser(schedule, new Float32Array(dim).fill(-0.5), 0.3);
    const x0 = randn(3, 2 * dim, 0),
      x1 = randn(3, 2 * dim, 1);
    const r = await sampleAMDMReference({
      models: [m0, m1],
      steps: 2,
      omegas: [0.5],
      optimStart: 1,
      optimEnd: 1,
      p: [0.7, 0.4],
      shape,
      batch: 2,
      latents: [x0, x1],
    });
    // replay: step 0 plain DDIM for both, step 1 DDIM then merge
    const d0 = await sampleDDIM(m0, { steps: 2, shape, batch: 2, latents: x0, schedule });
    const d1 = await sampleDDIM(m1, { steps: 2, shape, batch: 2, latents: x1, schedule });
    const { ddimStep } = await import('../../src/core/ddim.ts');
    const [t0, t1] = r.timesteps;
    const s0 = ddimStep(schedule, x0, m0.eps(x0, t0, 2) as Float32Array, t0, t1).prev;
    const e0 = m0.eps(x0, t0, 2) as Float32Array;
    const y0 = d0.latents,
      y1 = d1.latents;
    const m = y0.map((v, q) => 0.5 * v + Math.sqrt(0.75) * y1[q]);
    const { coeff1, coeff2 } = referenceMuCoefficients(schedule, t0);
    const mu = s0.map((v, q) => coeff1 * v - coeff2 * e0[q]);
    const dist = Math.sqrt(m.reduce((s, v, q) => s + (v - mu[q]) ** 2, 0));
    for (let q = 0; q < 2 * dim; q++) expect(r.latents[q]).toBeCloseTo(m[q] - (0.7 * (m[q] - mu[q])) / dist, 5);
  });
  it("three models use the code's (non-norm-preserving) nesting; bad input is named", async () => {
    const g = (v: number) => gaussianDenoiser(schedule, new Float32Array(dim).fill(v), 0.2);
    const r = await sampleAMDMReference({
      models: [g(1), g(0), g(-1)],
      steps: 10,
      omegas: [0.47, 0.5],
      optimStart: 1,
      optimEnd: 3,
      p: [45, 40, 35].map((v) => v / 128),
      shape,
      seed: 4,
    });
    expect(r.latents.every(Number.isFinite)).toBe(true);
    await expect(
      sampleAMDMReference({ models: [g(1)], steps: 10, omegas: [], optimStart: 1, optimEnd: 3, p: [1], shape }),
    ).rejects.toThrow(/models must hold 2 or 3 Denoisers/);
    await expect(
      sampleAMDMReference({
        models: [g(1), g(2)],
        steps: 10,
        omegas: [1.5],
        optimStart: 1,
        optimEnd: 3,
        p: [1, 1],
        shape,
      }),
    ).rejects.toThrow(/omegas\[0\] must be in \[0, 1\], got 1.5/);
    await expect(
      sampleAMDMReference({
        models: [g(1), g(2)],
        steps: 10,
        omegas: [0.5],
        optimStart: 4,
        optimEnd: 3,
        p: [1, 1],
        shape,
      }),
    ).rejects.toThrow(/optimEnd must be an integer in \[4, 9\], got 3/);
  });
});
