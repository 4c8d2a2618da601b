import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deviate, deviateRelative } from '../../src/core/deviation.ts';
import { distAt } from '../../src/core/tensor.ts';
import { forEachBackend } from '../helpers/backends.ts';

const vec = (n: number) =>
  fc
    .array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a, (v) => v / 100));

forEachBackend(() => {
  describe('deviation optimization (eq. 9)', () => {
    it('moves exactly η toward μ, per sample', () => {
      fc.assert(
        fc.property(vec(12), vec(12), fc.double({ min: 0, max: 2, noNaN: true }), (x, mu, eta) => {
          const dim = 4;
          for (let s = 0; s < 3; s++) fc.pre(distAt(x, mu, s * dim, dim) > 0.05);
          const d = new Float64Array(3);
          const out = deviate(x, mu, new Float32Array(12), { eta, dim, distances: d });
          for (let s = 0; s < 3; s++) {
            const o = s * dim;
            expect(d[s]).toBeCloseTo(distAt(x, mu, o, dim), 5);
            expect(distAt(out, x, o, dim)).toBeCloseTo(eta, 4); // step length is η
            // toward μ: the distance to μ drops by exactly η (|d − η| when η overshoots)
            expect(distAt(out, mu, o, dim)).toBeCloseTo(Math.abs(d[s] - eta), 4);
          }
        }),
      );
    });
    it('η = 0 is the identity; x′ = μ is left unchanged (no NaN)', () => {
      const x = Float32Array.of(1, 2, 3, 4),
        mu = Float32Array.of(0, 0, 3, 4);
      expect(Array.from(deviate(x, mu, new Float32Array(4), { eta: 0, dim: 2 }))).toEqual([1, 2, 3, 4]);
      const out = deviate(x, mu, new Float32Array(4), { eta: 0.5, dim: 2 });
      expect(out[2]).toBe(3);
      expect(out[3]).toBe(4);
      expect(Array.from(out).every(Number.isFinite)).toBe(true);
    });
    it('eq. 9 overshoots μ when η > ‖x′ − μ‖; clip: true stops at μ', () => {
      const x = Float32Array.of(3, 4),
        mu = Float32Array.of(0, 0); // ‖x′ − μ‖ = 5
      const over = deviate(x, mu, new Float32Array(2), { eta: 7, dim: 2 });
      expect(over[0]).toBeCloseTo(-1.2, 6); // passed μ by 2, on the far side
      expect(over[1]).toBeCloseTo(-1.6, 6);
      const clipped = deviate(x, mu, new Float32Array(2), { eta: 7, dim: 2, clip: true });
      expect(Array.from(clipped)).toEqual([0, 0]);
      const short = deviate(x, mu, new Float32Array(2), { eta: 1, dim: 2, clip: true });
      expect(short[0]).toBeCloseTo(2.4, 6); // shorter steps are unchanged by clip
    });
    it('out may alias x′', () => {
      const x = Float32Array.of(3, 4),
        mu = Float32Array.of(0, 0);
      deviate(x, mu, x, { eta: 1, dim: 2 });
      expect(x[0]).toBeCloseTo(2.4, 6);
      expect(x[1]).toBeCloseTo(3.2, 6);
    });
    it('rejects negative η and mismatched sizes', () => {
      const x = new Float32Array(4);
      expect(() => deviate(x, x, x, { eta: -0.1, dim: 2 })).toThrow(/eta must be in \[0, Infinity\], got -0.1/);
      expect(() => deviate(x, new Float32Array(3), x, { eta: 0.1, dim: 2 })).toThrow(
        /mu must have the length of xMixed \(4\), got 3/,
      );
      expect(() => deviate(x, x, x, { eta: 0.1, dim: 3 })).toThrow(/xMixed must hold a whole number/);
    });
  });
});

describe('relative deviation step x′ + λ(μ − x′) (not in the paper)', () => {
  const sized = fc.integer({ min: 1, max: 40 }).chain((dim) => fc.tuple(fc.constant(dim), vec(2 * dim), vec(2 * dim)));
  it('λ = 0 is the identity and λ = 1 gives μ, bit for bit', () => {
    fc.assert(
      fc.property(sized, ([dim, x, mu]) => {
        expect(deviateRelative(x, mu, new Float32Array(x.length), { lambda: 0, dim })).toEqual(x);
        expect(deviateRelative(x, mu, new Float32Array(x.length), { lambda: 1, dim })).toEqual(mu);
      }),
    );
  });
  it('never overshoots: ‖x − μ‖ = (1 − λ)‖x′ − μ‖ ≤ ‖x′ − μ‖, and it moves toward μ along x′ − μ', () => {
    fc.assert(
      fc.property(sized, fc.double({ min: 0, max: 1, noNaN: true }), ([dim, x, mu], lambda) => {
        const d = new Float64Array(2);
        const out = deviateRelative(x, mu, new Float32Array(x.length), { lambda, dim, distances: d });
        for (let s = 0; s < 2; s++) {
          const o = s * dim,
            before = distAt(x, mu, o, dim);
          expect(d[s]).toBeCloseTo(before, 5);
          const after = distAt(out, mu, o, dim);
          expect(after).toBeLessThanOrEqual(before * (1 + 1e-6) + 1e-6);
          expect(after).toBeCloseTo((1 - lambda) * before, 4);
          expect(distAt(out, x, o, dim)).toBeCloseTo(lambda * before, 4); // the rest of the way
        }
      }),
    );
  });
  it('does not depend on the dimension: a sample repeated k times moves exactly like the original', () => {
    fc.assert(
      fc.property(
        sized,
        fc.integer({ min: 2, max: 16 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ([dim, x, mu], k, lambda) => {
          const one = deviateRelative(x.subarray(0, dim), mu.subarray(0, dim), new Float32Array(dim), { lambda, dim });
          const tile = (v: Float32Array) => {
            const t = new Float32Array(k * dim);
            for (let j = 0; j < k; j++) t.set(v.subarray(0, dim), j * dim);
            return t;
          };
          const big = deviateRelative(tile(x), tile(mu), new Float32Array(k * dim), { lambda, dim: k * dim });
          expect(big).toEqual(tile(one));
        },
      ),
    );
    // eq. 9 does depend on it: the same η moves the repeated sample less per element (η/√k)
    const x = Float32Array.of(3, 4),
      mu = Float32Array.of(0, 0);
    expect(deviate(x, mu, new Float32Array(2), { eta: 1, dim: 2 })[0]).toBeCloseTo(2.4, 6);
    expect(
      deviate(Float32Array.of(3, 4, 3, 4), Float32Array.of(0, 0, 0, 0), new Float32Array(4), { eta: 1, dim: 4 })[0],
    ).toBeCloseTo(3 - 0.6 / Math.SQRT2, 6);
  });
  it('is eq. 9 with η = λ‖x′ − μ‖', () => {
    const x = Float32Array.of(3, 4, 1, 1),
      mu = Float32Array.of(0, 0, 1, 2); // distances 5 and 1
    const rel = deviateRelative(x, mu, new Float32Array(4), { lambda: 0.3, dim: 2 });
    expect(Array.from(rel)).toEqual(Array.from(Float32Array.of(2.1, 2.8, 1, 1.3)));
    const eq9 = deviate(x.subarray(0, 2), mu.subarray(0, 2), new Float32Array(2), { eta: 1.5, dim: 2 });
    expect(rel[0]).toBeCloseTo(eq9[0], 6);
    expect(rel[1]).toBeCloseTo(eq9[1], 6);
  });
  it('out may alias x′; λ outside [0, 1] and mismatched sizes are rejected', () => {
    const x = Float32Array.of(3, 4),
      mu = Float32Array.of(0, 0);
    deviateRelative(x, mu, x, { lambda: 0.5, dim: 2 });
    expect(Array.from(x)).toEqual([1.5, 2]);
    expect(() => deviateRelative(x, mu, x, { lambda: 1.2, dim: 2 })).toThrow(/lambda must be in \[0, 1\], got 1.2/);
    expect(() => deviateRelative(x, mu, x, { lambda: -0.1, dim: 2 })).toThrow(/lambda must be in \[0, 1\], got -0.1/);
    expect(() => deviateRelative(x, mu, x, { lambda: NaN, dim: 2 })).toThrow(
      /lambda must be a number in \[0, 1\], got NaN/,
    );
    expect(() => deviateRelative(x, new Float32Array(3), x, { lambda: 0.5, dim: 2 })).toThrow(
      /mu must have the length of xMixed \(2\), got 3/,
    );
  });
});
