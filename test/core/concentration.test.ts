/**
 * Lemma B.1 of the AMDM paper (norm concentration of Gaussian vectors): for x ~ N(0, σ²I) in
 * dimension n and ε > 0,
 *
 *   P(|‖x‖ − √n σ| > ε √n σ) ≤ 2 exp(−n ε² / (1 + 2ε)).
 *
 * This is why spherical aggregation keeps latents on the shell of radius ≈ √n σ. The test draws
 * x with the core RNG and checks the empirical exceedance rate against the bound and against the
 * exact probability from the χ²_n distribution of ‖x‖²/σ², and shows that the same check rejects
 * a bound that is too tight and draws with the wrong σ.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianRng } from '../../src/core/rng.ts';

const DRAWS = 2000;
const EPSILONS = [0.05, 0.1, 0.2] as const;
/** Dimension → σ used for that dimension. */
const CASES: ReadonlyArray<readonly [n: number, sigma: number]> = [
  [64, 0.5],
  [256, 1],
  [1024, 2],
  [4096, 0.1],
  [16384, 3],
];

/** Lemma B.1's right-hand side. */
function lemmaBound(n: number, eps: number): number {
  return 2 * Math.exp((-n * eps * eps) / (1 + 2 * eps));
}

/** ln Γ(a) for a > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15). */
function logGamma(a: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const x = a - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Regularized lower incomplete gamma P(a, x) and upper Q(a, x) = 1 − P (series / continued fraction). */
function incompleteGamma(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 100000; k++) {
      term *= x / (a + k);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    const p = sum * front;
    return { p, q: 1 - p };
  }
  // Modified Lentz continued fraction for Q.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const q = front * h;
  return { p: 1 - q, q };
}

/** Exact P(|‖x‖ − √n σ| > ε √n σ), from ‖x‖²/σ² ~ χ²_n. */
function exactExceedance(n: number, eps: number): number {
  const lower = incompleteGamma(n / 2, (n * (1 - eps) ** 2) / 2).p;
  const upper = incompleteGamma(n / 2, (n * (1 + eps) ** 2) / 2).q;
  return lower + upper;
}

/** Binomial standard error of a rate estimated from `draws` trials when the true rate is p. */
function binomialSE(p: number, draws: number): number {
  const q = Math.min(Math.max(p, 0), 1);
  return Math.sqrt((q * (1 - q)) / draws);
}

/** The acceptance rule: the empirical rate does not exceed the bound by more than 3 SE. */
function withinBound(rate: number, bound: number, draws: number): boolean {
  return rate <= bound + 3 * binomialSE(bound, draws);
}

/**
 * Exceedance rates of |‖x‖ − √n σ| > ε √n σ over `draws` vectors drawn with standard deviation
 * `drawSigma`, measured against the radius for `sigma`.
 */
function empiricalRates(
  n: number,
  sigma: number,
  drawSigma: number,
  eps: readonly number[],
  draws: number,
  seed: number,
): number[] {
  const rng = gaussianRng(seed, n);
  const x = new Float32Array(n);
  const radius = Math.sqrt(n) * sigma;
  const counts = eps.map(() => 0);
  for (let d = 0; d < draws; d++) {
    rng.fillNormal(x, 0, n, drawSigma);
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    const dev = Math.abs(Math.sqrt(s) - radius) / radius;
    for (let k = 0; k < eps.length; k++) if (dev > eps[k]) counts[k]++;
  }
  return counts.map((c) => c / draws);
}

describe('incomplete gamma reference', () => {
  it('matches closed forms of the χ² CDF for 2 and 4 degrees of freedom', () => {
    for (const x of [0.1, 1, 2.5, 7, 20]) {
      expect(incompleteGamma(1, x / 2).p).toBeCloseTo(1 - Math.exp(-x / 2), 12);
      expect(incompleteGamma(2, x / 2).p).toBeCloseTo(1 - Math.exp(-x / 2) * (1 + x / 2), 12);
    }
  });

  it('is continuous across the series / continued-fraction switch at x = a + 1', () => {
    const a = 512;
    const below = incompleteGamma(a, a + 1 - 1e-9).p;
    const above = incompleteGamma(a, a + 1 + 1e-9).p;
    expect(Math.abs(above - below)).toBeLessThan(1e-9);
    expect(below).toBeGreaterThan(0.5);
    expect(below).toBeLessThan(0.6);
  });
});

describe('Lemma B.1: norm concentration', () => {
  const rates = new Map<number, number[]>();
  beforeAll(() => {
    for (const [n, sigma] of CASES) rates.set(n, empiricalRates(n, sigma, sigma, EPSILONS, DRAWS, 2024));
  });

  for (const [n, sigma] of CASES) {
    EPSILONS.forEach((eps, k) => {
      it(`n = ${n}, σ = ${sigma}, ε = ${eps}: exact ≤ bound, empirical ≤ bound + 3 SE and ≈ exact`, () => {
        const bound = lemmaBound(n, eps);
        const exact = exactExceedance(n, eps);
        const rate = rates.get(n)![k];
        expect(exact).toBeGreaterThanOrEqual(0);
        expect(exact).toBeLessThanOrEqual(Math.min(bound, 1));
        expect(withinBound(rate, bound, DRAWS)).toBe(true);
        // The RNG reproduces the χ² law: within 5 SE of the exact rate (plus one draw of slack).
        expect(Math.abs(rate - exact)).toBeLessThanOrEqual(5 * binomialSE(exact, DRAWS) + 1 / DRAWS);
      });
    });
  }

  it('the bound is informative: below 1 in most cells and below 1e-6 at n = 16384, ε ≥ 0.1', () => {
    let informative = 0;
    for (const [n] of CASES) for (const eps of EPSILONS) if (lemmaBound(n, eps) < 1) informative++;
    expect(informative).toBeGreaterThanOrEqual(10);
    expect(lemmaBound(16384, 0.1)).toBeLessThan(1e-6);
  });

  it('has power: too-tight bounds are rejected at small n', () => {
    const r64 = rates.get(64)!;
    // A fixed small number instead of the bound at n = 64, ε = 0.1 (true rate ≈ 0.26).
    expect(withinBound(r64[1], 0.01, DRAWS)).toBe(false);
    // The bound evaluated at 2ε is too tight at n = 64, ε = 0.2 (true rate ≈ 0.025).
    expect(exactExceedance(64, 0.2)).toBeGreaterThan(lemmaBound(64, 0.4));
    expect(withinBound(r64[2], lemmaBound(64, 0.4), DRAWS)).toBe(false);
  });

  it('has power: draws with the wrong σ (1.1σ) break the bound at n = 4096', () => {
    const [rate] = empiricalRates(4096, 0.1, 0.11, [0.05], 200, 7);
    expect(withinBound(rate, lemmaBound(4096, 0.05), 200)).toBe(false);
    expect(rate).toBeGreaterThan(0.99);
  });
});
