import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { diagonalMixture, isotropicMixture, mixtureDenoiser } from '../../src/toy/gmm.ts';
import {
  fullMixture,
  mixtureLogDensity,
  mixtureMoments,
  sampleMixture,
  toFullMixture,
} from '../../src/compose/full-mixture.ts';
import { fullMixtureDenoiser } from '../../src/compose/full-mixture-denoiser.ts';
import {
  mixtureOfMixtures,
  productOfMixtures,
  rotation2d,
  transformMixture,
} from '../../src/compose/mixture-algebra.ts';

const ddpm = makeSchedule({ betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, setAlphaToOne: true });

/** A rotated anisotropic 2-D mixture (full covariances). */
const rotated = transformMixture(
  diagonalMixture([-1, 0.5, 1.5, -0.5], 2, [0.3, 0.05, 0.1, 0.6], [0.35, 0.65]),
  rotation2d(0.7),
);

function grid(lo: number, hi: number, n: number): Float32Array {
  const pts = new Float32Array(n * n * 2);
  const h = (hi - lo) / (n - 1);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      pts[(i * n + j) * 2] = lo + i * h;
      pts[(i * n + j) * 2 + 1] = lo + j * h;
    }
  return pts;
}

describe('full-covariance mixture denoiser (sources C§7, "Full")', () => {
  it('equals the toy denoiser on diagonal mixtures (ε and log q_t) at random t and x', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 1000 }), (t, seed) => {
        const mix = diagonalMixture([-1, 2, 0.5, -0.3, 1, 1], 2, [0.2, 0.5, 0.05, 0.3, 1, 0.1], [0.2, 0.3, 0.5]);
        const x = gaussianRng(seed, 0).fillNormal(new Float32Array(8), 0, 8, 2);
        const a = mixtureDenoiser(mix, ddpm);
        const b = fullMixtureDenoiser(mix, ddpm);
        const ea = Array.from(a.eps(x, t, 4));
        const eb = Array.from(b.eps(x, t, 4));
        eb.forEach((v, i) => expect(v).toBeCloseTo(ea[i], 5));
        const la = a.logDensity(x, t, 4);
        const lb = b.logDensity(x, t, 4);
        lb.forEach((v, i) => expect(v).toBeCloseTo(la[i], 9));
      }),
      { numRuns: 40 },
    );
  });

  it('ε = −√(1−ᾱ) ∇log q_t by central differences on a rotated mixture', () => {
    const d = fullMixtureDenoiser(rotated, ddpm);
    const x = Float32Array.of(0.3, -0.4);
    for (const t of [0, 50, 300, 900]) {
      const abar = ddpm.alphasCumprod[t];
      const e = Array.from(d.eps(x, t, 1));
      const h = 1e-3;
      for (let j = 0; j < 2; j++) {
        const xp = x.slice();
        xp[j] += h;
        const xm = x.slice();
        xm[j] -= h;
        const fd = (d.logDensity(xp, t, 1)[0] - d.logDensity(xm, t, 1)[0]) / (xp[j] - xm[j]);
        expect(e[j]).toBeCloseTo(-Math.sqrt(1 - abar) * fd, 3);
      }
    }
  });

  it('the data-level density integrates to 1 and the samples have the exact moments', () => {
    const pts = grid(-6, 6, 241);
    const lp = mixtureLogDensity(rotated, pts);
    const h = 12 / 240;
    let s = 0;
    for (const v of lp) s += Math.exp(v) * h * h;
    expect(s).toBeCloseTo(1, 4);
    const n = 20000;
    const x = sampleMixture(rotated, n, gaussianRng(3, 0));
    const { mean, covariance } = mixtureMoments(rotated);
    const mu = [0, 0];
    for (let i = 0; i < n; i++) {
      mu[0] += x[2 * i] / n;
      mu[1] += x[2 * i + 1] / n;
    }
    for (let j = 0; j < 2; j++) expect(Math.abs(mu[j] - mean[j])).toBeLessThan(4 * Math.sqrt(covariance[j * 3] / n));
  });
});

describe('products and mixtures of mixtures (sources C§8.1)', () => {
  const p1 = isotropicMixture([-1, 0, 1, 0.5], 2, [0.1, 0.2], [0.4, 0.6]);
  const p2 = rotated;

  it('log p_prod = log p₁ + log p₂ − log Z to 1e-9, and the product integrates to 1', () => {
    const { mixture, logZ } = productOfMixtures([p1, p2]);
    const pts = grid(-4, 4, 161);
    const lp = mixtureLogDensity(mixture, pts);
    const l1 = mixtureLogDensity(p1, pts);
    const l2 = mixtureLogDensity(p2, pts);
    let maxErr = 0;
    let s = 0;
    for (let i = 0; i < lp.length; i++) {
      if (l1[i] + l2[i] - logZ > -30) maxErr = Math.max(maxErr, Math.abs(lp[i] - (l1[i] + l2[i] - logZ)));
      s += Math.exp(lp[i]) * 0.05 * 0.05;
    }
    expect(maxErr).toBeLessThan(1e-9);
    expect(s).toBeCloseTo(1, 4);
  });

  it('two 1-D Gaussians: S = AB/(A+B), m = (μB + νA)/(A+B), Z = N(μ; ν, A+B)', () => {
    const { mixture, logZ } = productOfMixtures([isotropicMixture([1], 1, 0.5), isotropicMixture([-2], 1, 2)]);
    expect(mixture.covariances[0]).toBeCloseTo((0.5 * 2) / 2.5, 12);
    expect(mixture.means[0]).toBeCloseTo((1 * 2 + -2 * 0.5) / 2.5, 12);
    expect(logZ).toBeCloseTo(-0.5 * Math.log(2 * Math.PI * 2.5) - 9 / 5, 12);
  });

  it('exponents: N(0, I)^{−1} times two factorized experts gives the axis-aligned product', () => {
    const e1 = diagonalMixture([-1.5, 0, 1.5, 0], 2, [0.04, 1, 0.04, 1]);
    const e2 = diagonalMixture([0, -1, 0, 1.2], 2, [1, 0.0225, 1, 0.0225], [0.3, 0.7]);
    const bg = isotropicMixture([0, 0], 2, 1);
    const { mixture } = productOfMixtures([e1, e2, bg], [1, 1, -1]);
    const axis = diagonalMixture(
      [-1.5, -1, -1.5, 1.2, 1.5, -1, 1.5, 1.2],
      2,
      [0.04, 0.0225, 0.04, 0.0225, 0.04, 0.0225, 0.04, 0.0225],
      [0.15, 0.35, 0.15, 0.35],
    );
    const pts = grid(-3, 3, 31);
    const a = mixtureLogDensity(mixture, pts);
    const b = mixtureLogDensity(axis, pts);
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 8));
  });

  it('a mixture of mixtures rescales the weights', () => {
    const m = mixtureOfMixtures([p1, isotropicMixture([3, 3], 2, 1)], [1, 3]);
    expect(Array.from(m.weights)).toEqual([0.25 * 0.4, 0.25 * 0.6, 0.75].map((v) => expect.closeTo(v, 12)));
  });

  it('rejects a tempered mixture, a non-normalizable product, mismatched dims and bad covariances', () => {
    expect(() => productOfMixtures([p1, p2], [2, 1])).toThrow(
      /exponents\[0\] = 2: an exponent other than 1 needs a single-Gaussian factor/,
    );
    expect(() => productOfMixtures([isotropicMixture([0], 1, 1), isotropicMixture([0], 1, 0.5)], [1, -1])).toThrow(
      /not positive definite: the product is not normalizable/,
    );
    expect(() => productOfMixtures([p1, isotropicMixture([0], 1, 1)])).toThrow(
      /factors\[1\]\.dim must equal factors\[0\]\.dim = 2/,
    );
    expect(() => fullMixture([0, 0], 2, [1, 2, 2, 1])).toThrow(/must be symmetric positive definite/);
    expect(() => fullMixture([0, 0], 2, [1, 0.5, 0.4, 1])).toThrow(/must be symmetric/);
    expect(() => toFullMixture({} as never)).toThrow(/mixture must be an isotropic, diagonal or full mixture/);
  });
});
