/**
 * Bradley et al. 2025, projective composition (sources C§3): on the factorized
 * toy, ε₁ + ε₂ − ε_b is the exact ε of the noised composition at every t, so reverse diffusion
 * samples GMM₁(x₁)GMM₂(x₂); with one expert rotated it is not, and the samples are biased.
 */
import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { fullMixtureDenoiser } from '../../src/compose/full-mixture-denoiser.ts';
import { sampleProjective, sampleReverse } from '../../src/compose/reverse.ts';
import { covarianceError, modeWeightError } from '../../src/compose/metrics.ts';
import { factorizedWorld, rotatedWorld, type CompositionWorld } from '../../src/compose/worlds2d.ts';

const schedule = makeSchedule({
  betaSchedule: 'linear',
  betaStart: 1e-4,
  betaEnd: 0.02,
  setAlphaToOne: true,
  stepsOffset: 0,
  timestepSpacing: 'trailing',
});
const B = 100;
const x = gaussianRng(1, 0).fillNormal(new Float32Array(2 * B), 0, 2 * B, 1.5);

/** max |ε₁ + ε₂ − ε_b − ε_oracle| at timestep t. */
function projectiveError(world: CompositionWorld, t: number): number {
  const { models, gamma } = world.composition(schedule);
  const oracle = Array.from(fullMixtureDenoiser(world.target, schedule).eps(x, t, B));
  const sum = new Float64Array(2 * B);
  models.forEach((m, i) => {
    const e = m.eps(x, t, B) as Float32Array;
    for (let j = 0; j < 2 * B; j++) sum[j] += gamma[i] * e[j];
  });
  let err = 0;
  for (let j = 0; j < 2 * B; j++) err = Math.max(err, Math.abs(sum[j] - oracle[j]));
  return err;
}

describe('projective composition', () => {
  it('is the exact ε of the noised composition on the factorized toy, at every t', () => {
    for (const t of [999, 700, 400, 200, 50, 5, 0]) {
      expect(projectiveError(factorizedWorld(), t)).toBeLessThan(1e-5);
      expect(projectiveError(rotatedWorld(0), t)).toBeLessThan(1e-5);
    }
  });

  it('is not exact once an expert is rotated (45°): the ε error reaches > 1 at t = 200', () => {
    expect(projectiveError(rotatedWorld(Math.PI / 4), 200)).toBeGreaterThan(1);
  });

  it('samples the factorized composition: mode weights within 0.03 TV and the exact covariance within 0.1', async () => {
    const w = factorizedWorld();
    const [p1, p2] = w.expertModels(schedule);
    const bg = w.composition(schedule).models[2];
    const r = await sampleProjective({
      models: [p1, p2],
      background: bg,
      dim: 2,
      particles: 2000,
      schedule,
      steps: 100,
      seed: 1,
    });
    expect(modeWeightError(r.samples, w.target)).toBeLessThan(0.03);
    expect(covarianceError(r.samples, w.target)).toBeLessThan(0.1);
    expect(r.evals.eps).toBe(300);
    // The same run through the exact target's own denoiser gives the same samples (to float32 rounding).
    const o = await sampleReverse({
      models: [fullMixtureDenoiser(w.target, schedule)],
      dim: 2,
      particles: 2000,
      schedule,
      steps: 100,
      seed: 1,
    });
    let maxDiff = 0;
    for (let i = 0; i < o.samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(o.samples[i] - r.samples[i]));
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('is measurably biased on the rotated toy (mode TV > 0.08, covariance error > 0.3)', async () => {
    const w = rotatedWorld();
    const { models, gamma } = w.composition(schedule);
    const r = await sampleReverse({ models, gamma, dim: 2, particles: 2000, schedule, steps: 100, seed: 1 });
    expect(modeWeightError(r.samples, w.target)).toBeGreaterThan(0.08);
    expect(covarianceError(r.samples, w.target)).toBeGreaterThan(0.3);
  });

  it('FKC weights vanish on the factorized toy (⟨ε₁ − ε_b, ε₂ − ε_b⟩ = 0), so FKC = reverse diffusion', async () => {
    const { sampleFKC } = await import('../../src/compose/fkc.ts');
    const w = factorizedWorld();
    const { models, gamma } = w.composition(schedule);
    const opts = { models, gamma, dim: 2, particles: 200, schedule, steps: 50, seed: 4 };
    const f = await sampleFKC(opts);
    const r = await sampleReverse(opts);
    for (const e of f.ess!) expect(e).toBeCloseTo(200, 6);
    let maxDiff = 0;
    for (let i = 0; i < r.samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(f.samples[i] - r.samples[i]));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('rejects a missing background', () => {
    const w = factorizedWorld();
    const ms = w.expertModels(schedule);
    expect(() =>
      sampleProjective({ models: ms, background: undefined as never, dim: 2, particles: 1, schedule }),
    ).toThrow(/background must be a Denoiser with an eps\(x, t, batch\) method/);
  });
});
