import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { gaussianRng } from '../../src/core/rng.ts';
import { isotropicMixture } from '../../src/toy/gmm.ts';
import { sampleMixture } from '../../src/compose/full-mixture.ts';
import {
  covarianceError,
  lnMmd2,
  meanLogLikelihood,
  meanStd,
  MMD_SIGMAS,
  mmd2,
  modeFractions,
  modeWeightError,
  slicedW2,
  w2Exact,
} from '../../src/compose/metrics.ts';

describe('MMD² (biased, RBF mix σ ∈ {0.01, 0.1, 1, 10, 100})', () => {
  it('is 0 for identical sets and matches the closed form for two single points', () => {
    const x = Float32Array.of(0.1, 0.2, -1, 3);
    expect(mmd2(x, x, 2)).toBeCloseTo(0, 12);
    expect(lnMmd2(x, x, 2)).toBe(-Infinity);
    const d = 0.3;
    const expected = 2 * MMD_SIGMAS.reduce((s, sg) => s + 1 - Math.exp(-(d * d) / (2 * sg * sg)), 0);
    expect(mmd2(Float64Array.of(0), Float64Array.of(d), 1)).toBeCloseTo(expected, 12);
  });

  it('grows with a shift between two samples of one distribution', () => {
    const mix = isotropicMixture([0, 0], 2, 1);
    const a = sampleMixture(mix, 300, gaussianRng(1, 0));
    const b = sampleMixture(mix, 300, gaussianRng(2, 0));
    const c = b.map((v, i) => (i % 2 === 0 ? v + 1 : v));
    expect(mmd2(a, c, 2)).toBeGreaterThan(5 * mmd2(a, b, 2)); // 0.138 vs 0.018 (the V-statistic keeps a ~4/n floor)
  });
});

describe('LL, Var and mode weights', () => {
  it('LL of exact samples of N(0, σ²I) in 2-D is −log(2πσ²) − 1 within 4 SE', () => {
    const s2 = 0.09;
    const n = 20000;
    const x = sampleMixture(isotropicMixture([0, 0], 2, s2), n, gaussianRng(3, 0));
    // log p = −log(2πσ²) − ‖x‖²/(2σ²); ‖x‖²/(2σ²) ~ Gamma(1, 1): mean 1, sd 1.
    expect(
      Math.abs(meanLogLikelihood(x, isotropicMixture([0, 0], 2, s2)) - (-Math.log(2 * Math.PI * s2) - 1)),
    ).toBeLessThan(4 / Math.sqrt(n));
  });

  it('Var = ‖Cov − Cov_target‖_F: samples scaled by 2 from N(0, I) give ≈ ‖3 I‖_F = 3√2', () => {
    const mix = isotropicMixture([0, 0], 2, 1);
    const x = sampleMixture(mix, 20000, gaussianRng(4, 0)).map((v) => 2 * v);
    expect(covarianceError(x, mix)).toBeCloseTo(3 * Math.SQRT2, 0);
    expect(
      covarianceError(
        x.map((v) => v / 2),
        mix,
      ),
    ).toBeLessThan(0.1);
  });

  it('mode fractions assign each sample to its most probable component', () => {
    const mix = isotropicMixture([-2, 0, 2, 0], 2, 0.1, [0.25, 0.75]);
    const x = Float32Array.of(-2, 0, -1.9, 0.1, 2, 0, 2.1, 0);
    expect(Array.from(modeFractions(x, mix))).toEqual([0.5, 0.5]);
    expect(modeWeightError(x, mix)).toBeCloseTo(0.25, 12);
  });
});

describe('W2', () => {
  it('exact W2 of a translated set is the translation length; 1-D equals sorted matching', () => {
    const x = Float64Array.of(0, 0, 1, 2, -1, 0.5, 3, -2);
    const y = x.map((v, i) => v + (i % 2 === 0 ? 0.3 : -0.4));
    expect(w2Exact(x, y, 2)).toBeCloseTo(0.5, 12);
    const a = Float64Array.of(3, -1, 0.5, 2);
    const b = Float64Array.of(0, 1, -2, 4);
    const sa = [...a].sort((p, q) => p - q);
    const sb = [...b].sort((p, q) => p - q);
    const sorted = Math.sqrt(sa.reduce((s, v, i) => s + (v - sb[i]) ** 2, 0) / 4);
    expect(w2Exact(a, b, 1)).toBeCloseTo(sorted, 12);
    expect(slicedW2(a, b, 1, 3)).toBeCloseTo(sorted, 12);
  });

  test.prop([fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1e6 })])(
    'exact W2 equals the brute-force optimum over permutations',
    (n, seed) => {
      const r = gaussianRng(seed, 0);
      const x = r.fillNormal(new Float32Array(2 * n));
      const y = r.fillNormal(new Float32Array(2 * n));
      let best = Infinity;
      const perm = Array.from({ length: n }, (_, i) => i);
      const visit = (k: number) => {
        if (k === n) {
          let c = 0;
          for (let i = 0; i < n; i++) c += (x[2 * i] - y[2 * perm[i]]) ** 2 + (x[2 * i + 1] - y[2 * perm[i] + 1]) ** 2;
          best = Math.min(best, c);
          return;
        }
        for (let j = k; j < n; j++) {
          [perm[k], perm[j]] = [perm[j], perm[k]];
          visit(k + 1);
          [perm[k], perm[j]] = [perm[j], perm[k]];
        }
      };
      visit(0);
      expect(w2Exact(x, y, 2)).toBeCloseTo(Math.sqrt(best / n), 5);
    },
  );

  it('sliced W2 is 0 for identical sets and at most the exact W2', () => {
    const r = gaussianRng(5, 0);
    const x = r.fillNormal(new Float32Array(100));
    const y = r.fillNormal(new Float32Array(100));
    expect(slicedW2(x, x, 2)).toBe(0);
    expect(slicedW2(x, y, 2)).toBeLessThanOrEqual(w2Exact(x, y, 2) + 1e-12);
  });
});

describe('summaries and errors', () => {
  it('meanStd uses the n − 1 standard deviation', () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
    expect(meanStd([7])).toEqual({ mean: 7, std: 0, n: 1 });
  });

  it('rejects empty, mismatched and non-finite inputs', () => {
    expect(() => mmd2(new Float32Array(3), new Float32Array(2), 2)).toThrow(
      /x must hold a positive multiple of dim = 2 values, got 3/,
    );
    expect(() => w2Exact(new Float32Array(4), new Float32Array(2), 2)).toThrow(/same number of points, got 2 and 1/);
    expect(() => meanLogLikelihood(Float32Array.of(NaN, 0), isotropicMixture([0, 0], 2, 1))).toThrow(
      /samples\[0\] must be finite, got NaN/,
    );
    expect(() => meanStd([])).toThrow(/values must be a non-empty array/);
    expect(() => mmd2(new Float32Array(2), new Float32Array(2), 2, [0])).toThrow(
      /sigmas\[0\] must be in \(0, Infinity\]/,
    );
  });
});
