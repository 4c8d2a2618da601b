import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSchedule, timesteps } from '../../src/core/schedule.ts';
import {
  diagonalMixture,
  gmmSample,
  isotropicMixture,
  mixtureDenoiser,
  validateMixture,
  type RandomSource,
} from '../../src/toy/gmm.ts';
import type { GaussianMixture } from '../../src/toy/mixture.ts';

const sd = makeSchedule(); // SD 1.x: scaled_linear, ᾱ₀ = 0.99915, ᾱ₉₉₉ ≈ 0.0047
/** DDPM's linear schedule with ᾱ = 1 after the last step: ᾱ₉₉₉ ≈ 4e-5, so x_T ≈ N(0, I). */
const ddpm = makeSchedule({ betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, setAlphaToOne: true });

/** A small seeded generator (mulberry32 + Box–Muller), enough for tests. */
function testRng(seed: number): RandomSource {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

function randomMixture(kind: 'isotropic' | 'diagonal', K: number, dim: number, rng: RandomSource, minVar = 0.05) {
  const means = Array.from({ length: K * dim }, () => 2 * rng.normal());
  const raw = Array.from({ length: K }, () => 0.2 + rng.uniform());
  const total = raw.reduce((p, q) => p + q, 0);
  const weights = raw.map((w) => w / total);
  const nVar = kind === 'isotropic' ? K : K * dim;
  const variances = Array.from({ length: nVar }, () => minVar + rng.uniform());
  return kind === 'isotropic'
    ? isotropicMixture(means, dim, variances, weights)
    : diagonalMixture(means, dim, variances, weights);
}

/** Per-sample, per-component reference of sources C§7 in float64, written for clarity, not speed. */
function reference(mix: GaussianMixture, abar: number, x: ArrayLike<number>) {
  const { dim } = mix;
  const K = mix.weights.length;
  const a = Math.sqrt(abar);
  const s = Math.sqrt(1 - abar);
  const variance = (k: number, j: number) => (mix.kind === 'isotropic' ? mix.variances[k] : mix.variances[k * dim + j]);
  const ell: number[] = [];
  for (let k = 0; k < K; k++) {
    let l = Math.log(mix.weights[k]);
    for (let j = 0; j < dim; j++) {
      const c = abar * variance(k, j) + 1 - abar;
      const d = x[j] - a * mix.means[k * dim + j];
      l += -0.5 * Math.log(2 * Math.PI * c) - (d * d) / (2 * c);
    }
    ell.push(l);
  }
  const max = Math.max(...ell);
  const logq = max + Math.log(ell.reduce((acc, l) => acc + Math.exp(l - max), 0));
  const r = ell.map((l) => Math.exp(l - logq));
  const score = new Array<number>(dim).fill(0);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < dim; j++) {
      const c = abar * variance(k, j) + 1 - abar;
      score[j] -= (r[k] * (x[j] - a * mix.means[k * dim + j])) / c;
    }
  }
  return { logq, r, score, eps: score.map((g) => -s * g) };
}

/** float32 output vs a float64 reference: a few float32 ulps, relative to the value's scale. */
function expectClose32(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 2e-6) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * (1 + Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      expect.fail(`index ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Points on a 2⁻⁸ grid, so that x ± 2⁻¹⁰ is exact in float32. */
function gridPoints(n: number, dim: number, rng: RandomSource, scale: number): Float32Array {
  return Float32Array.from({ length: n * dim }, () => Math.round(scale * rng.normal() * 256) / 256);
}

describe('ε against finite differences of logDensity', () => {
  for (const kind of ['isotropic', 'diagonal'] as const) {
    it(`${kind}: ε = −√(1−ᾱ)·∇log q_t (Richardson-extrapolated central differences)`, () => {
      const rng = testRng(kind === 'isotropic' ? 11 : 12);
      for (let trial = 0; trial < 4; trial++) {
        const dim = 1 + trial * 2;
        const mix = randomMixture(kind, 2 + trial, dim, rng);
        const den = mixtureDenoiser(mix, sd);
        for (const t of [-1, 0, 30, 250, 600, 999]) {
          const batch = 5;
          const x = gridPoints(batch, dim, rng, 2);
          const eps = den.eps(x, t, batch).slice();
          const score = den.score(x, t, batch);
          const s = Math.sqrt(1 - den.alphaBar(t));
          const fdEps = new Float64Array(batch * dim);
          const fdScore = new Float64Array(batch * dim);
          const h = 2 ** -10;
          const lq = new Float64Array(batch);
          const central = (j: number, step: number) => {
            const xp = x.slice();
            for (let b = 0; b < batch; b++) xp[b * dim + j] += step;
            const plus = den.logDensity(xp, t, batch, lq).slice();
            for (let b = 0; b < batch; b++) xp[b * dim + j] -= 2 * step;
            const minus = den.logDensity(xp, t, batch, lq);
            return plus.map((p, b) => (p - minus[b]) / (2 * step));
          };
          for (let j = 0; j < dim; j++) {
            const d1 = central(j, h);
            const d2 = central(j, 2 * h);
            for (let b = 0; b < batch; b++) {
              const g = (4 * d1[b] - d2[b]) / 3; // O(h⁴)
              fdScore[b * dim + j] = g;
              fdEps[b * dim + j] = -s * g;
            }
          }
          expectClose32(eps, fdEps, 2e-6);
          expectClose32(score, fdScore, 2e-6);
        }
      }
    });
  }
});

describe('single Gaussian', () => {
  it('ε = (x − √ᾱμ)·√(1−ᾱ)/(ᾱσ² + 1 − ᾱ) and log q_t is the normal log-density', () => {
    const rng = testRng(3);
    for (const dim of [1, 3, 8]) {
      const mu = Array.from(Float32Array.from({ length: dim }, () => rng.normal())); // means are stored as float32
      const sigma2 = 0.3;
      const den = mixtureDenoiser(isotropicMixture(mu, dim, sigma2), sd);
      for (const t of [0, 100, 500, 999, -1]) {
        const abar = den.alphaBar(t);
        const a = Math.sqrt(abar);
        const c = abar * sigma2 + 1 - abar;
        const batch = 4;
        const x = Float32Array.from({ length: batch * dim }, () => rng.normal());
        const want = Array.from(x, (xi, i) => ((xi - a * mu[i % dim]) * Math.sqrt(1 - abar)) / c);
        expectClose32(den.eps(x, t, batch), want);
        const logq = den.logDensity(x, t, batch);
        for (let b = 0; b < batch; b++) {
          let want1 = 0;
          for (let j = 0; j < dim; j++) {
            const d = x[b * dim + j] - a * mu[j];
            want1 += -0.5 * Math.log(2 * Math.PI * c) - (d * d) / (2 * c);
          }
          expect(logq[b]).toBeCloseTo(want1, 11);
        }
        // one component: responsibility 1 everywhere
        expect(Array.from(den.responsibilities(x, t, batch))).toEqual([1, 1, 1, 1]);
      }
    }
  });

  it('a 1-D density integrates to 1 (trapezoid rule on a 2⁻¹⁰ grid over [−16, 16])', () => {
    const mixes = [
      isotropicMixture([0.7], 1, 0.04),
      isotropicMixture([-3, 0.5, 4], 1, [0.1, 0.5, 0.02], [0.2, 0.3, 0.5]),
      diagonalMixture([-1, 2], 1, [0.3, 0], [0.6, 0.4]), // with a point mass
    ];
    const n = 32 * 1024 + 1;
    const x = Float32Array.from({ length: n }, (_, i) => -16 + i / 1024);
    for (const mix of mixes) {
      const den = mixtureDenoiser(mix, sd);
      for (const t of [0, 400, 999]) {
        const lq = den.logDensity(x, t, n);
        let integral = 0;
        for (let i = 0; i < n; i++) integral += (i === 0 || i === n - 1 ? 0.5 : 1) * Math.exp(lq[i]);
        expect(integral / 1024).toBeCloseTo(1, 7);
      }
    }
  });

  it('a point mass (σ² = 0) gives ε = (x − √ᾱμ)/√(1−ᾱ) while ᾱ < 1, and throws at ᾱ = 1', () => {
    const den = mixtureDenoiser(isotropicMixture([1, -2], 2, 0), sd);
    const x = new Float32Array([0.5, 0.25]);
    const abar = den.alphaBar(0);
    const s = Math.sqrt(1 - abar);
    expectClose32(den.eps(x, 0, 1), [(0.5 - Math.sqrt(abar)) / s, (0.25 + 2 * Math.sqrt(abar)) / s]);
    expect(Number.isFinite(den.logDensity(x, 0, 1)[0])).toBe(true);
    const one = mixtureDenoiser(isotropicMixture([1, -2], 2, 0), { alphaBar: () => 1 });
    expect(() => one.eps(x, 0, 1)).toThrow(/component 0 has variance ᾱσ² \+ 1 − ᾱ = 0 .*point mass/);
    // a failed call at ᾱ = 1 leaves no stale per-ᾱ constants behind
    const mixed = isotropicMixture([1, -2, 0, 3], 2, [0.5, 0], [0.4, 0.6]);
    const byAbar = mixtureDenoiser(mixed, { alphaBar: (u) => u });
    const first = byAbar.logDensity(x, 0.5, 1)[0];
    expect(() => byAbar.logDensity(x, 1, 1)).toThrow(/component 1 has variance/);
    expect(byAbar.logDensity(x, 0.5, 1)[0]).toBe(first);
    expect(first).toBe(mixtureDenoiser(mixed, { alphaBar: (u) => u }).logDensity(x, 0.5, 1)[0]);
    // positive variances stay finite at ᾱ = 1: ε = 0 (s = 0) and log q_0 = log p₀
    const clean = mixtureDenoiser(isotropicMixture([1, -2], 2, 0.5), makeSchedule({ setAlphaToOne: true }));
    expect(Array.from(clean.eps(x, -1, 1), Math.abs)).toEqual([0, 0]);
    const want = -Math.log(2 * Math.PI * 0.5) - ((0.5 - 1) ** 2 + (0.25 + 2) ** 2) / (2 * 0.5);
    expect(clean.logDensity(x, -1, 1)[0]).toBeCloseTo(want, 12);
  });
});

it('log q_t at t = 999 of a DDPM schedule is the standard normal log-density up to the bound O(√ᾱ‖x‖‖μ‖ + ᾱ(d + ‖x‖² + ‖μ‖²))', () => {
  const rng = testRng(5);
  const dim = 6;
  const mix = randomMixture('diagonal', 4, dim, rng);
  const den = mixtureDenoiser(mix, ddpm);
  const abar = den.alphaBar(999);
  expect(abar).toBeLessThan(1e-4);
  let maxMu2 = 0;
  for (let k = 0; k < 4; k++) {
    let m2 = 0;
    for (let j = 0; j < dim; j++) m2 += mix.means[k * dim + j] ** 2;
    maxMu2 = Math.max(maxMu2, m2);
  }
  const batch = 50;
  const x = Float32Array.from({ length: batch * dim }, () => rng.normal());
  const lq = den.logDensity(x, 999, batch);
  for (let b = 0; b < batch; b++) {
    let x2 = 0;
    for (let j = 0; j < dim; j++) x2 += x[b * dim + j] ** 2;
    const std = -0.5 * dim * Math.log(2 * Math.PI) - 0.5 * x2;
    const bound = 2 * (Math.sqrt(abar * x2 * maxMu2) + abar * (dim + x2 + maxMu2 + 1));
    expect(Math.abs(lq[b] - std)).toBeLessThan(bound);
  }
});

describe('batched evaluation equals the per-sample reference', () => {
  it('no cancellation at a far point mass with tiny variance (64-D, ‖μ‖ ≈ 8000, c = 1 − ᾱ = 3.7·10⁻¹¹)', () => {
    // ‖x‖² ≈ 6·10⁷ while ‖x − aμ₀‖² ≈ 5·10⁻⁸: the expanded distance alone is off by ~200 in ℓ₀
    // here; the direct recomputation keeps the per-component reference value.
    const dim = 64;
    const abar = 1 - 3.7e-11;
    const rng = testRng(64);
    const mu = Array.from({ length: dim }, () => 900 + 200 * rng.uniform());
    const mix = isotropicMixture([...mu, ...mu.map((v) => -v)], dim, [0, 0.5], [0.5, 0.5]);
    const den = mixtureDenoiser(mix, { alphaBar: () => abar });
    const x = Float32Array.from(mix.means.subarray(0, dim), (v) => Math.sqrt(abar) * v + (rng.uniform() - 0.5) * 1e-4);
    const ref = reference(mix, abar, x);
    expect(Math.abs(den.logDensity(x, 0, 1)[0] - ref.logq)).toBeLessThan(1e-6 * Math.abs(ref.logq));
    expectClose32(den.eps(x, 0, 1), ref.eps);
  });

  it('logDensity, responsibilities, score and ε for random mixtures, batches and timesteps', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('isotropic' as const, 'diagonal' as const),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: -1, max: 999 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        (kind, K, dim, batch, t, seed, degenerate) => {
          const rng = testRng(seed);
          let mix = randomMixture(kind, K, dim, rng);
          if (degenerate && K > 1) {
            // a zero-weight component and a point mass
            const w = Array.from(mix.weights);
            w[0] += w[K - 1];
            w[K - 1] = 0;
            const v = Array.from(mix.variances);
            v.fill(0, 0, kind === 'isotropic' ? 1 : dim);
            mix = kind === 'isotropic' ? isotropicMixture(mix.means, dim, v, w) : diagonalMixture(mix.means, dim, v, w);
          }
          const den = mixtureDenoiser(mix, sd);
          const abar = den.alphaBar(t);
          for (const B of [batch, Math.max(1, batch - 2), batch + 1]) {
            const x = Float32Array.from({ length: B * dim }, () => 2.5 * rng.normal());
            const refs = Array.from({ length: B }, (_, b) => reference(mix, abar, x.subarray(b * dim, (b + 1) * dim)));
            const eps = den.eps(x, t, B);
            expectClose32(
              eps,
              refs.flatMap((r) => r.eps),
            );
            expectClose32(
              den.score(x, t, B),
              refs.flatMap((r) => r.score),
            );
            const lq = den.logDensity(x, t, B);
            refs.forEach((r, b) => expect(Math.abs(lq[b] - r.logq)).toBeLessThan(1e-9 * (1 + Math.abs(r.logq))));
            const resp = den.responsibilities(x, t, B);
            refs.forEach((r, b) => r.r.forEach((rk, k) => expect(Math.abs(resp[b * K + k] - rk)).toBeLessThan(1e-9)));
          }
        },
      ),
      { numRuns: 150, seed: 20241002 },
    );
  });

  it('ε is one reused buffer per batch size and score may write into x', () => {
    const rng = testRng(8);
    const mix = randomMixture('isotropic', 3, 4, rng);
    const den = mixtureDenoiser(mix, sd);
    const x = Float32Array.from({ length: 5 * 4 }, () => rng.normal());
    const e1 = den.eps(x, 10, 5);
    expect(den.eps(x, 20, 5)).toBe(e1);
    const small = den.eps(x.subarray(0, 8), 10, 2);
    expect(small.length).toBe(8);
    expect(small.buffer).toBe(e1.buffer);
    const want = den.score(x, 300, 5);
    const y = x.slice();
    expect(den.score(y, 300, 5, y)).toBe(y);
    expect(Array.from(y)).toEqual(Array.from(want));
  });

  it('the { alphaBar } form gives the same values as the schedule at the same ᾱ, for any real t', () => {
    const rng = testRng(9);
    const mix = randomMixture('diagonal', 3, 3, rng);
    const bySchedule = mixtureDenoiser(mix, sd);
    const byFunction = mixtureDenoiser(mix, { alphaBar: (u) => Math.exp(-u) });
    const x = Float32Array.from({ length: 6 }, () => rng.normal());
    const t = -Math.log(sd.alphasCumprod[321]);
    expect(Array.from(byFunction.eps(x, t, 2))).toEqual(Array.from(bySchedule.eps(x, 321, 2)));
    expect(Array.from(byFunction.logDensity(x, t, 2))).toEqual(Array.from(bySchedule.logDensity(x, 321, 2)));
    // t < 0 on a schedule means the final ᾱ
    expect(bySchedule.alphaBar(-1)).toBe(sd.finalAlphaCumprod);
    expect(bySchedule.alphaBar(-1)).toBe(sd.alphasCumprod[0]);
  });
});

describe('exact DDIM sampling (η_ddim = 0) of the closed-form model', () => {
  /** x_prev = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev)·ε, x̂₀ = (x − √(1−ᾱ)ε)/√ᾱ (paper eq. 4 with σ = 0). */
  function ddim(mix: GaussianMixture, n: number, seed: number): Float32Array {
    const den = mixtureDenoiser(mix, ddpm);
    const rng = testRng(seed);
    const x = Float32Array.from({ length: n * mix.dim }, () => rng.normal());
    const ts = timesteps(ddpm, 100);
    ts.forEach((t, i) => {
      const tPrev = i + 1 < ts.length ? ts[i + 1] : -1;
      const ab = den.alphaBar(t);
      const abPrev = den.alphaBar(tPrev);
      const eps = den.eps(x, t, n);
      for (let j = 0; j < x.length; j++) {
        const x0 = (x[j] - Math.sqrt(1 - ab) * eps[j]) / Math.sqrt(ab);
        x[j] = Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev) * eps[j];
      }
    });
    return x;
  }

  function byNearestMean(mix: GaussianMixture, x: Float32Array) {
    const { dim } = mix;
    const K = mix.weights.length;
    const n = x.length / dim;
    const counts = new Array<number>(K).fill(0);
    const sq = new Float64Array(K * dim); // Σ (x − μₖ)² per coordinate
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < dim; j++) d += (x[i * dim + j] - mix.means[k * dim + j]) ** 2;
        if (d < bestD) [best, bestD] = [k, d];
      }
      counts[best]++;
      for (let j = 0; j < dim; j++) sq[best * dim + j] += (x[i * dim + j] - mix.means[best * dim + j]) ** 2;
    }
    return { counts, sq, n };
  }

  /**
   * For one Gaussian N(μ, v), a DDIM step maps x − aμ = k·z to x′ − a′μ = k·(aa′v + ss′)/c·z
   * exactly, so from x_T ~ N(0, I) the 100-step output is N(μ, ρv) with ρ = k²/v computed here.
   * ρ < 1: the discretization shrinks the variance (by 5–8 % for these v).
   */
  function ddimVarianceFactor(v: number): number {
    const ts = timesteps(ddpm, 100);
    let k = 1;
    ts.forEach((t, i) => {
      const ab = ddpm.alphasCumprod[t];
      const abPrev = i + 1 < ts.length ? ddpm.alphasCumprod[ts[i + 1]] : ddpm.finalAlphaCumprod;
      k *= (Math.sqrt(ab * abPrev) * v + Math.sqrt((1 - ab) * (1 - abPrev))) / (ab * v + 1 - ab);
    });
    return (k * k) / v;
  }

  it('one Gaussian in 8-D: the output is N(μ, ρσ²) with the exact DDIM factor ρ (mean and variance within 4 SE)', () => {
    const dim = 8;
    const n = 2000;
    for (const v of [0.09, 0.25]) {
      const mu = [1, -1, 0.5, 0, 2, -2, 0.25, 3];
      const mix = isotropicMixture(mu, dim, v);
      const x = ddim(mix, n, 70);
      const rho = ddimVarianceFactor(v);
      expect(rho).toBeGreaterThan(0.9);
      expect(rho).toBeLessThan(0.96);
      let sq = 0;
      for (let j = 0; j < dim; j++) {
        let mean = 0;
        for (let i = 0; i < n; i++) mean += x[i * dim + j] / n;
        expect(Math.abs(mean - mix.means[j])).toBeLessThan(4 * Math.sqrt((rho * v) / n));
        for (let i = 0; i < n; i++) sq += (x[i * dim + j] - mix.means[j]) ** 2;
      }
      const m = n * dim;
      expect(Math.abs(sq / m / (rho * v) - 1)).toBeLessThan(4 * Math.sqrt(2 / m));
    }
  });

  it('isotropic 4-D, weights 0.2/0.3/0.5: frequencies within 4 SE; variance within 4 SE + 0.04 of ρσ²', () => {
    const dim = 4;
    const means = [3, 0, 0, 0, -3, 3, 0, 0, 0, -3, 3, 0];
    const sigma2 = [0.09, 0.25, 0.16];
    const mix = isotropicMixture(means, dim, sigma2, [0.2, 0.3, 0.5]);
    const n = 2000;
    const { counts, sq } = byNearestMean(mix, ddim(mix, n, 77));
    for (let k = 0; k < 3; k++) {
      const p = mix.weights[k];
      expect(Math.abs(counts[k] / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      let total = 0;
      for (let j = 0; j < dim; j++) total += sq[k * dim + j];
      const m = counts[k] * dim;
      // ρ is exact for one Gaussian only; within a mixture the early steps differ (0.04 allows
      // for it: at n = 20000 the observed gap is at most 0.026).
      const ratio = total / m / sigma2[k];
      expect(Math.abs(ratio - ddimVarianceFactor(sigma2[k]))).toBeLessThan(4 * Math.sqrt(2 / m) + 0.04);
    }
  });

  it('diagonal 2-D, weights 0.5/0.3/0.2: frequencies within 4 SE; per-coordinate variances within 4 SE + 0.04 of ρv', () => {
    const dim = 2;
    const mix = diagonalMixture([4, 0, -4, 0, 0, 4], dim, [0.04, 0.36, 0.25, 0.09, 0.16, 0.16], [0.5, 0.3, 0.2]);
    const n = 2000;
    const { counts, sq } = byNearestMean(mix, ddim(mix, n, 78));
    for (let k = 0; k < 3; k++) {
      const p = mix.weights[k];
      expect(Math.abs(counts[k] / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      for (let j = 0; j < dim; j++) {
        const v = mix.variances[k * dim + j];
        const ratio = sq[k * dim + j] / counts[k] / v;
        expect(Math.abs(ratio - ddimVarianceFactor(v))).toBeLessThan(4 * Math.sqrt(2 / counts[k]) + 0.04);
      }
    }
  });
});

it('gmmSample draws the components with their weights, means and variances', () => {
  const mix = diagonalMixture([0, 0, 5, -5], 2, [1, 0.25, 0.04, 4], [0.3, 0.7]);
  const n = 4000;
  const labels = new Int32Array(n);
  const x = gmmSample(mix, n, testRng(4), labels);
  expect(x.length).toBe(n * 2);
  for (let k = 0; k < 2; k++) {
    const idx = [...labels.keys()].filter((i) => labels[i] === k);
    const p = mix.weights[k];
    expect(Math.abs(idx.length / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    for (let j = 0; j < 2; j++) {
      const v = mix.variances[k * 2 + j];
      const mean = idx.reduce((acc, i) => acc + x[i * 2 + j], 0) / idx.length;
      expect(Math.abs(mean - mix.means[k * 2 + j])).toBeLessThan(4 * Math.sqrt(v / idx.length));
      const varHat = idx.reduce((acc, i) => acc + (x[i * 2 + j] - mix.means[k * 2 + j]) ** 2, 0) / idx.length;
      expect(Math.abs(varHat / v - 1)).toBeLessThan(4 * Math.sqrt(2 / idx.length));
    }
  }
  // a zero-weight component is never drawn
  const labels2 = new Int32Array(500);
  gmmSample(isotropicMixture([0, 9], 1, 1, [1, 0]), 500, testRng(1), labels2);
  expect(labels2.every((l) => l === 0)).toBe(true);
});

describe('input errors name the parameter and the allowed values', () => {
  const good = isotropicMixture([0, 0, 1, 1], 2, 0.5);
  const den = mixtureDenoiser(good, sd);
  const x = new Float32Array(4);

  it('mixtures', () => {
    expect(() => isotropicMixture([0, 1], 1, 0.5, [0.5, 0.6])).toThrow(/weights must sum to 1 .*got a sum of 1.1/);
    expect(() => isotropicMixture([0, 1], 1, [0.5, -0.1])).toThrow(
      /variances\[1\] must be a finite number ≥ 0, got -0.1/,
    );
    expect(() => diagonalMixture([0, 1], 1, [0.5, 0.2, 0.3])).toThrow(
      /variances must be a number or have dim = 1 or K·dim = 2 entries/,
    );
    expect(() => isotropicMixture([0, 1, 2], 2, 0.5)).toThrow(
      /means must have a length that is a positive multiple of dim = 2, got 3/,
    );
    expect(() => isotropicMixture([0, 1], 1, 0.5, [1])).toThrow(/weights must have K = 2 entries/);
    expect(() => isotropicMixture([0, 1], 1, [1, 2, 3])).toThrow(/variances must be a number or have K = 2 entries/);
    expect(() => isotropicMixture([0, NaN], 1, 1)).toThrow(/mixture.means\[1\] must be finite, got NaN/);
    expect(() => isotropicMixture([0, 1], 0, 1)).toThrow(/dim must be an integer in \[1, /);
    expect(() => validateMixture({ ...good, means: new Float32Array(3) })).toThrow(
      /mixture.means must have length K·dim = 2·2 = 4, got 3/,
    );
    expect(() => validateMixture({ ...good, weights: new Float64Array([-0.5, 1.5]) })).toThrow(
      /mixture.weights\[0\] must be a finite number ≥ 0, got -0.5/,
    );
    expect(() => validateMixture({ ...good, kind: 'full' } as unknown as GaussianMixture)).toThrow(
      /mixture.kind must be one of 'isotropic', 'diagonal', got "full"/,
    );
    expect(() => validateMixture({ ...good, variances: new Float32Array(2) } as unknown as GaussianMixture)).toThrow(
      /mixture.variances must be a Float64Array for kind 'isotropic'/,
    );
    expect(() => mixtureDenoiser({ ...good, weights: new Float64Array([0.2, 0.2]) }, sd)).toThrow(/sum to 1/);
  });

  it('denoiser calls', () => {
    expect(() => den.eps(new Float32Array(5), 10, 2)).toThrow(/x must have length batch·dim = 2·2 = 4, got 5/);
    expect(() => den.eps(Array.from(x) as unknown as Float32Array, 10, 2)).toThrow(
      /x must be a Float32Array, got an array/,
    );
    expect(() => den.eps(x, 10.5, 2)).toThrow(
      /t must be an integer timestep in \[0, 999\], or negative for the final ᾱ, got 10.5/,
    );
    expect(() => den.eps(x, 1000, 2)).toThrow(/t must be an integer timestep in \[0, 999\]/);
    expect(() => den.logDensity(x, 10, 1.5)).toThrow(/batch must be an integer in \[1, /);
    expect(() => den.logDensity(x, 10, 0)).toThrow(/batch must be an integer in \[1, /);
    expect(() => den.logDensity(x, 10, 2, new Float64Array(3))).toThrow(
      /out \(batch entries\) must have length 2, got 3/,
    );
    expect(() => den.responsibilities(x, 10, 2, new Float64Array(3))).toThrow(
      /out \(batch·K entries\) must have length 4/,
    );
    expect(() => den.score(x, 10, 2, new Float64Array(4) as unknown as Float32Array)).toThrow(
      /out must be a Float32Array/,
    );
    expect(() => den.eps(new Float32Array([0, NaN, 0, 0]), 10, 2)).toThrow(/x\[1\] must be finite, got NaN/);
    const bad = mixtureDenoiser(good, { alphaBar: () => 1.5 });
    expect(() => bad.eps(x, 0.3, 2)).toThrow(
      /schedule.alphaBar\(t\) must return a number in \[0, 1\], got 1.5 at t = 0.3/,
    );
    const cont = mixtureDenoiser(good, { alphaBar: (t) => 1 - t });
    expect(() => cont.eps(x, Infinity, 2)).toThrow(/t must be a finite number, got Infinity/);
    expect(() => mixtureDenoiser(good, {} as never)).toThrow(/schedule must be a NoiseSchedule or \{ alphaBar/);
    expect(() => gmmSample(good, 3, {} as never)).toThrow(/rng must have normal\(\) and uniform\(\) methods/);
    expect(() => gmmSample(good, 3, { normal: () => 0, uniform: () => 1 })).toThrow(
      /rng.uniform\(\) must return a number in \[0, 1\), got 1/,
    );
    expect(() => gmmSample(good, -1, testRng(1))).toThrow(/n must be an integer in \[0, /);
  });
});
