import { describe, expect, it } from 'vitest';
import { gaussianRng } from '../../src/core/rng.ts';
import {
  betaScaled,
  makeMCMCKernel,
  resolveMCMCOptions,
  type MCMCKind,
  type MCMCTarget,
} from '../../src/compose/mcmc.ts';
import type { Level } from '../../src/compose/noise-levels.ts';

/** N(m, diag(s²)) in 2-D: ℓ = −Σ (x − m)²/(2s²), ∇ℓ = −(x − m)/s². */
const m = [1, -2];
const s2 = [0.25, 4];
const dim = 2;
const N = 4000;

function gaussianTarget(): MCMCTarget & { gradCalls: number; logCalls: number } {
  const t = {
    gradCalls: 0,
    logCalls: 0,
    grad(x: Float32Array, out: Float64Array) {
      t.gradCalls++;
      for (let i = 0; i < x.length; i++) out[i] = -(x[i] - m[i % dim]) / s2[i % dim];
    },
    logDensity(x: Float32Array, out: Float64Array) {
      t.logCalls++;
      for (let b = 0; b < out.length; b++) {
        let l = 0;
        for (let j = 0; j < dim; j++) l -= (x[b * dim + j] - m[j]) ** 2 / (2 * s2[j]);
        out[b] = l;
      }
    },
  };
  return t;
}

function exactSamples(seed: number): Float32Array {
  const r = gaussianRng(seed, 5);
  const x = new Float32Array(N * dim);
  for (let b = 0; b < N; b++) for (let j = 0; j < dim; j++) x[b * dim + j] = m[j] + Math.sqrt(s2[j]) * r.normal();
  return x;
}

function moments(x: Float32Array) {
  const mean = [0, 0];
  const v = [0, 0];
  for (let b = 0; b < N; b++) for (let j = 0; j < dim; j++) mean[j] += x[b * dim + j] / N;
  for (let b = 0; b < N; b++) for (let j = 0; j < dim; j++) v[j] += (x[b * dim + j] - mean[j]) ** 2 / (N - 1);
  return { mean, v };
}

/** Mean within 4 SE (√(σ²/N)) and variance within 4 SE (σ²√(2/N)) of the expected values. */
function expectMoments(x: Float32Array, varExpected: number[]) {
  const { mean, v } = moments(x);
  for (let j = 0; j < dim; j++) {
    expect(Math.abs(mean[j] - m[j])).toBeLessThan(4 * Math.sqrt(varExpected[j] / N));
    expect(Math.abs(v[j] - varExpected[j])).toBeLessThan(4 * varExpected[j] * Math.sqrt(2 / N));
  }
}

describe('MCMC kernels on a Gaussian (stationarity from exact samples)', () => {
  it('MALA with a large step (η = 0.1) keeps N(m, diag(0.25, 4)) and rejects some proposals', async () => {
    const x = exactSamples(1);
    const k = makeMCMCKernel({ kind: 'mala', stepsPerLevel: 30, stepSize: 0.1 }, dim, N, gaussianRng(1, 2));
    await k.run(gaussianTarget(), x);
    expectMoments(x, s2);
    const acc = k.stats.accepted / k.stats.proposed;
    expect(acc).toBeGreaterThan(0.3);
    expect(acc).toBeLessThan(0.99);
  });

  it('ULA with the same step has the known biased stationary variance s²/(1 − η/(2s²))', async () => {
    const x = exactSamples(2);
    const eta = 0.1;
    const k = makeMCMCKernel({ kind: 'ula', stepsPerLevel: 60, stepSize: eta }, dim, N, gaussianRng(2, 2));
    await k.run(gaussianTarget(), x);
    const biased = s2.map((v) => v / (1 - eta / (2 * v)));
    // Coordinate 0 converges within 60 steps (contraction 1 − η/s² = 0.6 per step); coordinate 1
    // mixes slowly (0.975 per step), so only its drift-free mean and approximate variance are checked.
    const { mean, v } = moments(x);
    expect(Math.abs(v[0] - biased[0])).toBeLessThan(4 * biased[0] * Math.sqrt(2 / N));
    expect(v[0] / s2[0]).toBeGreaterThan(1.15); // 1.25 expected: measurably not invariant
    expect(Math.abs(mean[1] - m[1])).toBeLessThan(4 * Math.sqrt(biased[1] / N));
  });

  it('HMC with a large leapfrog step (ε = 0.4, L = 3, ρ = 0.5) keeps the target exactly', async () => {
    const x = exactSamples(3);
    const k = makeMCMCKernel({ kind: 'hmc', stepsPerLevel: 30, stepSize: 0.4 }, dim, N, gaussianRng(3, 2));
    await k.run(gaussianTarget(), x);
    expectMoments(x, s2);
    expect(k.stats.accepted / k.stats.proposed).toBeLessThan(0.999);
  });

  it('U-HMC with the 2-D notebook defaults (ε = 0.03) keeps the target within SE', async () => {
    const x = exactSamples(4);
    const k = makeMCMCKernel({ kind: 'uhmc', stepsPerLevel: 30 }, dim, N, gaussianRng(4, 2));
    const target = gaussianTarget();
    await k.run(target, x);
    expectMoments(x, s2);
    // One gradient at the start of the level, then L = 3 per step.
    expect(target.gradCalls).toBe(1 + 30 * 3);
  });

  it('counts model evaluations as documented (MALA: K + 1 gradients and log-densities)', async () => {
    const target = gaussianTarget();
    const k = makeMCMCKernel({ kind: 'mala', stepsPerLevel: 5 }, dim, 10);
    await k.run(target, new Float32Array(10 * dim));
    expect(target.gradCalls).toBe(6);
    expect(target.logCalls).toBe(6);
  });
});

describe('MCMC options', () => {
  const level = { t: 10, trainBeta: 0.02 } as Level;

  it('uses the 2-D notebook defaults', () => {
    expect(resolveMCMCOptions({ kind: 'ula' })).toMatchObject({ stepsPerLevel: 10, stepSize: 1e-3 });
    expect(resolveMCMCOptions({ kind: 'hmc' })).toMatchObject({
      stepsPerLevel: 10,
      stepSize: 0.03,
      leapfrog: 3,
      damping: 0.5,
      mass: 1,
      flipOnReject: true,
    });
  });

  it('betaScaled gives the image-style step c·βₜ', () => {
    expect(betaScaled(0.035)(level)).toBeCloseTo(0.035 * 0.02, 15);
  });

  it('a per-level step size needs a level', async () => {
    const k = makeMCMCKernel({ kind: 'ula', stepSize: betaScaled(1) }, dim, 1);
    await expect(k.run(gaussianTarget(), new Float32Array(2))).rejects.toThrow(/needs a level/);
    await expect(k.run(gaussianTarget(), new Float32Array(2), level)).resolves.toBeUndefined();
  });

  it.each<[string, object, RegExp]>([
    ['negative step size', { kind: 'mala', stepSize: -0.1 }, /mcmc\.stepSize must be in \(0, Infinity\]/],
    ['zero step size', { kind: 'hmc', stepSize: 0 }, /mcmc\.stepSize must be in \(0/],
    ['damping 1', { kind: 'uhmc', damping: 1 }, /mcmc\.damping must be in \[0, 1\)/],
    ['negative damping', { kind: 'uhmc', damping: -0.5 }, /mcmc\.damping must be in \[0, 1\]/],
    ['leapfrog 0', { kind: 'hmc', leapfrog: 0 }, /mcmc\.leapfrog must be an integer in \[1/],
    ['unknown kind', { kind: 'gibbs' }, /mcmc\.kind must be one of 'ula', 'mala', 'uhmc', 'hmc'/],
    ['non-positive mass', { kind: 'hmc', mass: 0 }, /mcmc\.mass must be in \(0/],
  ])('rejects %s', (_, opts, msg) => {
    expect(() => resolveMCMCOptions(opts as { kind: MCMCKind })).toThrow(msg);
  });

  it('MALA and HMC need a log-density', async () => {
    const k = makeMCMCKernel({ kind: 'mala' }, dim, 1);
    await expect(k.run({ grad: () => {} }, new Float32Array(2))).rejects.toThrow(/needs target\.logDensity/);
  });

  it('a NaN acceptance ratio is an error, not a silent rejection', async () => {
    const k = makeMCMCKernel({ kind: 'mala', stepsPerLevel: 1 }, 1, 1);
    const bad: MCMCTarget = {
      grad: (_x, out) => {
        out.fill(0);
      },
      logDensity: (_x, out) => {
        out.fill(NaN);
      },
    };
    await expect(k.run(bad, new Float32Array(1))).rejects.toThrow(/log-ratio is NaN/);
  });

  it('rejects particles < 1 and a wrong-length x', async () => {
    expect(() => makeMCMCKernel({ kind: 'ula' }, 2, 0)).toThrow(/particles must be an integer in \[1/);
    const k = makeMCMCKernel({ kind: 'ula' }, 2, 3);
    await expect(k.run(gaussianTarget(), new Float32Array(5))).rejects.toThrow(
      /x must be a Float32Array of length particles·dim = 6/,
    );
  });
});
