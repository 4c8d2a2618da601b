import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { effectiveSampleSize, normalizeWeights, systematicResample } from '../../src/compose/resample.ts';

describe('systematic resampling (sources C§4.4)', () => {
  it('matches a hand-computed case: p = (½, ¼, ¼), N = 3 → targets (u + i)/3', () => {
    const logw = Float64Array.from([0.5, 0.25, 0.25], Math.log);
    // u = 0.1: targets 0.0333, 0.3667, 0.7 against cumsum 0.5, 0.75, 1.
    expect(Array.from(systematicResample(logw, 0.1))).toEqual([0, 0, 1]);
    // u = 0.9: targets 0.3, 0.6333, 0.9667.
    expect(Array.from(systematicResample(logw, 0.9))).toEqual([0, 1, 2]);
  });

  it('uniform weights keep every particle once', () => {
    expect(Array.from(systematicResample(new Float64Array(5), 0.42))).toEqual([0, 1, 2, 3, 4]);
  });

  test.prop([
    fc.array(fc.double({ min: -20, max: 5, noNaN: true }), { minLength: 1, maxLength: 40 }),
    fc.double({ min: 0, max: 0.999999, noNaN: true }),
  ])('each particle gets ⌊N pⱼ⌋ or ⌈N pⱼ⌉ copies, and indices are sorted', (lw, u) => {
    const logw = Float64Array.from(lw);
    const n = logw.length;
    const p = normalizeWeights(logw);
    const idx = systematicResample(logw, u);
    const counts = new Array<number>(n).fill(0);
    idx.forEach((j, i) => {
      counts[j]++;
      if (i > 0) expect(j).toBeGreaterThanOrEqual(idx[i - 1]);
    });
    for (let j = 0; j < n; j++) {
      expect(counts[j]).toBeGreaterThanOrEqual(Math.floor(n * p[j] - 1e-9));
      expect(counts[j]).toBeLessThanOrEqual(Math.ceil(n * p[j] + 1e-9));
    }
  });

  it('ESS is N for equal weights, 1 for a single live particle, and shift invariant', () => {
    expect(effectiveSampleSize(new Float64Array(8).fill(-3))).toBeCloseTo(8, 12);
    expect(effectiveSampleSize(Float64Array.of(0, -Infinity, -Infinity))).toBe(1);
    const a = Float64Array.of(0.1, -2, 1.5);
    const b = a.map((v) => v + 700);
    expect(effectiveSampleSize(b)).toBeCloseTo(effectiveSampleSize(a), 12);
    // p = (e⁰, e⁰·…): for log w = (0, log 3): p = (¼, ¾), ESS = 1/(1/16 + 9/16) = 1.6.
    expect(effectiveSampleSize(Float64Array.of(0, Math.log(3)))).toBeCloseTo(1.6, 12);
  });

  it('rejects NaN, +∞, all-zero weights and u outside [0, 1)', () => {
    expect(() => effectiveSampleSize(Float64Array.of(0, NaN))).toThrow(
      /logWeights\[1\] must be a number < \+∞, got NaN/,
    );
    expect(() => normalizeWeights(Float64Array.of(Infinity))).toThrow(/logWeights\[0\] must be a number < \+∞/);
    expect(() => systematicResample(Float64Array.of(-Infinity, -Infinity), 0.5)).toThrow(/at least one finite entry/);
    expect(() => systematicResample(Float64Array.of(0), 1)).toThrow(/u must be in \[0, 1\), got 1/);
    expect(() => systematicResample(Float64Array.of(0), -0.1)).toThrow(/u must be in \[0, 1\]/);
  });
});
