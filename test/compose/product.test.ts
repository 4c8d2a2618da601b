/**
 * The 1-D product of sources C§9 (our instance): p₁ = ½N(−1, 0.05) + ½N(1, 0.05),
 * p₂ = ½N(−2, 1) + ½N(2, 0.05). The exact product puts 5.4 % of its mass on x > 0; the plain
 * sum of scores puts about half there. FKC and the exact-energy SMC recover the mode weight.
 */
import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { isotropicMixture, mixtureDenoiser } from '../../src/toy/gmm.ts';
import { productOfMixtures } from '../../src/compose/mixture-algebra.ts';
import { sampleProduct } from '../../src/compose/reverse.ts';
import { fkcLogWeightIncrement, sampleFKC } from '../../src/compose/fkc.ts';
import { sampleSMC } from '../../src/compose/smc.ts';

const schedule = makeSchedule({
  betaSchedule: 'linear',
  betaStart: 1e-4,
  betaEnd: 0.02,
  setAlphaToOne: true,
  stepsOffset: 0,
  timestepSpacing: 'trailing',
});
const p1 = isotropicMixture([-1, 1], 1, [0.05, 0.05]);
const p2 = isotropicMixture([-2, 2], 1, [1, 0.05]);
const models = [mixtureDenoiser(p1, schedule), mixtureDenoiser(p2, schedule)];
const N = 2000;

const exact = productOfMixtures([p1, p2]).mixture;
let exactHigh = 0;
for (let k = 0; k < exact.weights.length; k++) if (exact.means[k] > 0) exactHigh += exact.weights[k];
const fractionHigh = (x: Float32Array) => x.reduce((c, v) => c + (v > 0 ? 1 : 0), 0) / x.length;

describe('1-D product of two bimodal experts', () => {
  it('has the exact mode weight P(x > 0) = 0.0543 (closed form sources C§8.1)', () => {
    expect(exactHigh).toBeCloseTo(0.0543, 3);
  });

  it('the plain sum of scores is strongly biased (≈ 0.5 instead of 0.054)', async () => {
    const r = await sampleProduct({ models, dim: 1, particles: N, schedule, steps: 100, seed: 1 });
    expect(fractionHigh(r.samples) - exactHigh).toBeGreaterThan(0.3);
    expect(r.evals).toEqual({ eps: 200, logDensity: 0 });
  });

  // Stated error: Monte Carlo SE √(p(1−p)/N) ≈ 0.005, inflated by resampling, plus the
  // discretization bias of FKC's first-order weights (≈ +0.015 at 250 steps): tolerance 0.035.
  it('FKC (b = 1, resampling every step) recovers the mode weight within 0.035', async () => {
    const r = await sampleFKC({ models, dim: 1, particles: N, schedule, steps: 250, seed: 1 });
    expect(Math.abs(fractionHigh(r.samples) - exactHigh)).toBeLessThan(0.035);
    expect(r.resamples).toBe(250);
    expect(r.evals.eps).toBe(500);
  });

  it('FKC with the ESS gate recovers it too, with fewer resamplings', async () => {
    const r = await sampleFKC({ models, dim: 1, particles: N, schedule, steps: 250, seed: 2, resample: 'ess' });
    expect(Math.abs(fractionHigh(r.samples) - exactHigh)).toBeLessThan(0.035);
    expect(r.resamples).toBeGreaterThan(0);
    expect(r.resamples).toBeLessThan(50);
    for (const e of r.ess!) expect(e).toBeGreaterThanOrEqual(1);
  });

  it('the exact-energy SMC recovers it within 0.025 (exact weights, MC error only)', async () => {
    const r = await sampleSMC({ models, dim: 1, particles: N, schedule, steps: 100, seed: 3 });
    expect(Math.abs(fractionHigh(r.samples) - exactHigh)).toBeLessThan(0.025);
    expect(r.evals).toEqual({ eps: 200, logDensity: 2 + 200 });
  });
});

describe('FKC weight increment (sources C§4.3)', () => {
  it('for a product of two: −½dβ + (β/σ²)⟨ε₁, ε₂⟩', () => {
    const r = gaussianRng(9, 0);
    const dim = 3;
    const batch = 4;
    const e1 = r.fillNormal(new Float32Array(dim * batch));
    const e2 = r.fillNormal(new Float32Array(dim * batch));
    const comp = e1.map((v, i) => v + e2[i]);
    const level = { beta: 0.02, sigma: 0.7 };
    const out = fkcLogWeightIncrement(
      { parts: [e1, e2], gamma: [1, 1], eps: comp, dim },
      level,
      new Float64Array(batch),
    );
    for (let b = 0; b < batch; b++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += e1[b * dim + j] * e2[b * dim + j];
      expect(out[b]).toBeCloseTo(-0.5 * dim * 0.02 + (0.02 / 0.49) * dot, 7); // ε_comp is float32
    }
  });

  it('is zero for one model with γ = 1 (plain diffusion needs no correction)', () => {
    const e = Float32Array.of(0.3, -1.2, 2);
    const out = fkcLogWeightIncrement(
      { parts: [e], gamma: [1], eps: e, dim: 1 },
      { beta: 0.1, sigma: 0.5 },
      new Float64Array(3),
    );
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });

  it('for a geometric average q₁^{1−w} q₂^{w}: ½(β/σ²)·w(w−1)‖ε₁ − ε₂‖² (Γ = 1)', () => {
    const e1 = Float32Array.of(1, 2);
    const e2 = Float32Array.of(-0.5, 0.25);
    const w = 0.3;
    const comp = e1.map((v, i) => (1 - w) * v + w * e2[i]);
    const out = fkcLogWeightIncrement(
      { parts: [e1, e2], gamma: [1 - w, w], eps: comp, dim: 2 },
      { beta: 0.05, sigma: 0.9 },
      new Float64Array(1),
    );
    const d2 = (1 + 0.5) ** 2 + (2 - 0.25) ** 2;
    expect(out[0]).toBeCloseTo(0.5 * (0.05 / 0.81) * w * (w - 1) * d2, 6);
  });
});
