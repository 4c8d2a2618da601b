import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deviate } from '../../src/core/deviation.ts';
import { distAt } from '../../src/core/tensor.ts';
import { forEachBackend } from '../helpers/backends.ts';

const vec = (n: number) => fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a, (v) => v / 100));

forEachBackend(() => {
  describe('deviation optimization (eq. 9)', () => {
    it('moves exactly η toward μ, per sample', () => {
      fc.assert(fc.property(vec(12), vec(12), fc.double({ min: 0, max: 2, noNaN: true }), (x, mu, eta) => {
        const dim = 4;
        for (let s = 0; s < 3; s++) fc.pre(distAt(x, mu, s * dim, dim) > 0.05);
        const d = new Float64Array(3);
        const out = deviate(x, mu, eta, new Float32Array(12), dim, d);
        for (let s = 0; s < 3; s++) {
          const o = s * dim;
          expect(d[s]).toBeCloseTo(distAt(x, mu, o, dim), 5);
          expect(distAt(out, x, o, dim)).toBeCloseTo(eta, 4); // step length is η
          // toward μ: the distance to μ drops by exactly η (|d − η| when η overshoots)
          expect(distAt(out, mu, o, dim)).toBeCloseTo(Math.abs(d[s] - eta), 4);
        }
      }));
    });
    it('η = 0 is the identity; x′ = μ is left unchanged (no NaN)', () => {
      const x = Float32Array.of(1, 2, 3, 4), mu = Float32Array.of(0, 0, 3, 4);
      expect(Array.from(deviate(x, mu, 0, new Float32Array(4), 2))).toEqual([1, 2, 3, 4]);
      const out = deviate(x, mu, 0.5, new Float32Array(4), 2);
      expect(out[2]).toBe(3);
      expect(out[3]).toBe(4);
      expect(Array.from(out).every(Number.isFinite)).toBe(true);
    });
    it('eq. 9 overshoots μ when η > ‖x′ − μ‖; clip: true stops at μ', () => {
      const x = Float32Array.of(3, 4), mu = Float32Array.of(0, 0); // ‖x′ − μ‖ = 5
      const over = deviate(x, mu, 7, new Float32Array(2), 2);
      expect(over[0]).toBeCloseTo(-1.2, 6); // passed μ by 2, on the far side
      expect(over[1]).toBeCloseTo(-1.6, 6);
      const clipped = deviate(x, mu, 7, new Float32Array(2), 2, undefined, true);
      expect(Array.from(clipped)).toEqual([0, 0]);
      const short = deviate(x, mu, 1, new Float32Array(2), 2, undefined, true);
      expect(short[0]).toBeCloseTo(2.4, 6); // shorter steps are unchanged by clip
    });
    it('out may alias x′', () => {
      const x = Float32Array.of(3, 4), mu = Float32Array.of(0, 0);
      deviate(x, mu, 1, x, 2);
      expect(x[0]).toBeCloseTo(2.4, 6);
      expect(x[1]).toBeCloseTo(3.2, 6);
    });
    it('rejects negative η and mismatched sizes', () => {
      const x = new Float32Array(4);
      expect(() => deviate(x, x, -0.1, x, 2)).toThrow(/eta must be in \[0, Infinity\], got -0.1/);
      expect(() => deviate(x, new Float32Array(3), 0.1, x, 2)).toThrow(/mu must have the length of xMixed \(4\), got 3/);
      expect(() => deviate(x, x, 0.1, x, 3)).toThrow(/xMixed must hold a whole number/);
    });
  });
});
