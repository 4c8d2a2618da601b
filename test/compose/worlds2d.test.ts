import { describe, expect, it } from 'vitest';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { mixtureLogDensity, mixtureMoments } from '../../src/compose/full-mixture.ts';
import { fullMixtureDenoiser } from '../../src/compose/full-mixture-denoiser.ts';
import { world2d, WORLD_NAMES, upDownWorld, ringBarWorld } from '../../src/compose/worlds2d.ts';

const schedule = makeSchedule({ betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, setAlphaToOne: true });
const B = 64;
const x = gaussianRng(2, 0).fillNormal(new Float32Array(2 * B), 0, 2 * B, 0.8);

describe('2-D composition worlds', () => {
  it.each(WORLD_NAMES)('%s: the composition models at the data level give log target + constant', async (name) => {
    const w = world2d(name);
    const { models, gamma } = w.composition(schedule);
    const lt = mixtureLogDensity(w.target, x);
    const sum = new Float64Array(B);
    for (let i = 0; i < models.length; i++) {
      const l = await models[i].logDensity(x, -1, B); // t < 0: the final ᾱ = 1, the data level
      for (let b = 0; b < B; b++) sum[b] += gamma[i] * l[b];
    }
    const c = sum[0] - lt[0];
    for (let b = 0; b < B; b++) expect(sum[b] - lt[b]).toBeCloseTo(c, 7);
    if (w.kind === 'mixture') expect(c).toBeCloseTo(0, 9); // a mixture of normalized densities
    expect(w.target.weights.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
    expect(w.expertModels(schedule)).toHaveLength(w.experts.length);
  });

  it('up-down: the product sits at (±1.5, 0) with std 0.4/√2; the cross pairs weigh e⁻¹⁴ relative', () => {
    const t = upDownWorld().target;
    expect(t.weights.length).toBe(4);
    let main = 0;
    for (let k = 0; k < 4; k++) {
      expect(t.covariances[4 * k]).toBeCloseTo(0.08, 12);
      if (Math.abs(Math.abs(t.means[2 * k]) - 1.5) < 1e-12 && Math.abs(t.means[2 * k + 1]) < 1e-12) {
        main += t.weights[k];
        expect(t.weights[k]).toBeCloseTo(0.5, 5);
      }
    }
    // Cross pair (−1.5, 1.5)·(1.5, −1.5): log N(μ; ν, 0.32 I) is 9/0.64 = 14.06 lower than a main pair's.
    expect(1 - main).toBeCloseTo((2 * Math.exp(-9 / 0.64)) / (2 + 2 * Math.exp(-9 / 0.64)), 12);
  });

  it('ring-bar: the product keeps the ring modes at (0, ±0.5) as the dominant pair', () => {
    const t = ringBarWorld().target;
    let top = 0;
    for (let k = 0; k < t.weights.length; k++)
      if (Math.abs(t.means[2 * k]) < 1e-3 && Math.abs(Math.abs(t.means[2 * k + 1]) - 0.5) < 0.01) top += t.weights[k];
    expect(top).toBeGreaterThan(0.99);
    expect(mixtureMoments(t).mean[0]).toBeCloseTo(0, 9);
  });

  it('bars-mixture: the mixture model has the exact ε of the noised mixture at every t', async () => {
    const w = world2d('bars-mixture');
    const [mix] = w.composition(schedule).models;
    const oracle = fullMixtureDenoiser(w.target, schedule);
    for (const t of [999, 400, 100, 10, 0]) {
      const a = Array.from(await mix.eps(x, t, B));
      const b = oracle.eps(x, t, B);
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 4));
    }
  });

  it('rejects an unknown world', () => {
    expect(() => world2d('spiral' as never)).toThrow(
      /name must be one of 'ring-bar', 'up-down', 'factorized', 'rotated', 'bars-mixture'/,
    );
  });
});
