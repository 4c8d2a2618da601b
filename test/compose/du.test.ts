/**
 * Du et al. 2023 on a 1-D product of two Gaussians, N(−1, 0.5)·N(1, 0.02) ∝ N(0.9231, 0.01923):
 * the sum of scores is biased (the product of noised marginals is not the noised product);
 * MCMC at every level pulls the samples toward the exact product.
 */
import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import { isotropicMixture, mixtureDenoiser } from '../../src/toy/gmm.ts';
import { sampleProduct } from '../../src/compose/reverse.ts';
import type { MCMCOptions } from '../../src/compose/mcmc.ts';

const schedule = makeSchedule({
  betaSchedule: 'linear',
  betaStart: 1e-4,
  betaEnd: 0.02,
  setAlphaToOne: true,
  stepsOffset: 0,
  timestepSpacing: 'trailing',
});
const models = [
  mixtureDenoiser(isotropicMixture([-1], 1, 0.5), schedule),
  mixtureDenoiser(isotropicMixture([1], 1, 0.02), schedule),
];
const exactMean = (-1 * 0.02 + 1 * 0.5) / 0.52;
const exactVar = (0.5 * 0.02) / 0.52;
const N = 1000;

async function run(mcmc: MCMCOptions | null) {
  const r = await sampleProduct({ models, dim: 1, particles: N, schedule, steps: 50, seed: 1, mcmc });
  const x = r.samples;
  const mean = x.reduce((a, b) => a + b, 0) / N;
  const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
  return { mean, v, r };
}

describe('Du et al. 2023: sum of scores ± MCMC on a Gaussian product', () => {
  it('without correction the mean is off by > 0.1 and the variance is too small', async () => {
    const { mean, v } = await run(null);
    expect(exactMean - mean).toBeGreaterThan(0.1);
    expect(v / exactVar).toBeLessThan(0.6);
  });

  // SE of the mean: √(0.019/1000) ≈ 0.0044.
  it.each<[string, MCMCOptions]>([
    ['MALA (η = 0.03)', { kind: 'mala', stepSize: 0.03 }],
    ['HMC (notebook defaults)', { kind: 'hmc' }],
    ['U-HMC (notebook defaults)', { kind: 'uhmc' }],
  ])('%s brings the mean within 0.04 and the variance within 30 %%', async (_, mcmc) => {
    const { mean, v, r } = await run(mcmc);
    expect(Math.abs(mean - exactMean)).toBeLessThan(0.04);
    expect(Math.abs(v / exactVar - 1)).toBeLessThan(0.3);
    expect(r.acceptance).toBeGreaterThan(0.9);
    expect(r.acceptance).toBeLessThanOrEqual(1);
  });

  it('ULA with the same large step inflates the variance (its known bias); MALA does not', async () => {
    const ula = await run({ kind: 'ula', stepSize: 0.03 });
    const mala = await run({ kind: 'mala', stepSize: 0.03 });
    expect(ula.v / exactVar).toBeGreaterThan(1.5);
    expect(mala.v / exactVar).toBeLessThan(1.2);
    expect(mala.r.acceptance).toBeLessThan(0.99);
  });

  it('counts the calls: K MCMC steps after every step onto a level t ≥ 0', async () => {
    const { r } = await run({ kind: 'hmc', stepsPerLevel: 2 });
    // 50 reverse steps × 2 models; 49 levels × (1 + 2·3) gradients × 2 models; 49 × (1 + 2) log-densities × 2.
    expect(r.evals).toEqual({ eps: 100 + 49 * 7 * 2, logDensity: 49 * 3 * 2 });
  });
});
