import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cfgCombine, ddimCoefficients, ddimStep } from '../../src/core/ddim.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { forEachBackend } from '../helpers/backends.ts';

const s = makeSchedule();
const f32 = (n: number, seed: number) => {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = (x / 2 ** 32) * 4 - 2;
  }
  return a;
};

forEachBackend(() => {
  describe('DDIM step (eq. 4/6)', () => {
    it('the x̂₀ identity: x_t built from x₀ and ε, stepped with the true ε, gives back x₀', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 2 ** 31 }), (t, seed) => {
          const x0 = f32(64, seed),
            e = f32(64, seed + 1);
          const a = s.alphasCumprod[t];
          const xt = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * e[i]);
          const r = ddimStep(s, xt, e, t, t - 1);
          for (let i = 0; i < 64; i++) expect(Math.abs(r.x0[i] - x0[i])).toBeLessThan(2e-4 / Math.sqrt(a));
          // and the mean is the forward process at t_prev with the same (x₀, ε)
          const ap = s.alphasCumprod[t - 1];
          for (let i = 0; i < 64; i++)
            expect(r.mean[i]).toBeCloseTo(Math.sqrt(ap) * r.x0[i] + Math.sqrt(1 - ap) * e[i], 4);
        }),
        { numRuns: 50 },
      );
    });
    it('η = 0: x_prev = mean = A·x + B·ε', () => {
      const x = f32(32, 7),
        e = f32(32, 8);
      const c = ddimCoefficients(s, 901, 801);
      const r = ddimStep(s, x, e, 901, 801);
      for (let i = 0; i < 32; i++) {
        expect(r.prev[i]).toBe(r.mean[i]);
        expect(r.mean[i]).toBeCloseTo(c.A * x[i] + c.B * e[i], 5);
      }
    });
    it('η > 0: prev = mean + σ·noise, and the direction term shrinks to √(1 − ᾱ_prev − σ²)', () => {
      const x = f32(16, 1),
        e = f32(16, 2),
        z = f32(16, 3);
      const c = ddimCoefficients(s, 501, 481, 0.7);
      expect(c.meanFromEps).toBeCloseTo(Math.sqrt(1 - c.alphaBarPrev - c.sigma ** 2), 15);
      const r = ddimStep(s, x, e, 501, 481, { eta: 0.7, noise: z });
      for (let i = 0; i < 16; i++) expect(r.prev[i]).toBeCloseTo(r.mean[i] + c.sigma * z[i], 5);
      expect(() => ddimStep(s, x, e, 501, 481, { eta: 0.7 })).toThrow(
        /noise must be a Float32Array of length 16 when η_ddim > 0/,
      );
    });
    it('rejects bad timesteps and lengths, naming them', () => {
      const x = f32(8, 1);
      expect(() => ddimStep(s, x, f32(7, 1), 501, 481)).toThrow(/eps must have the length of x \(8\), got 7/);
      expect(() => ddimCoefficients(s, 481, 501)).toThrow(/tPrev must be smaller than t \(481\), got 501/);
      expect(() => ddimCoefficients(s, 1000, 980)).toThrow(/timestep must be an integer/);
      expect(() => ddimCoefficients(s, 501, 481, -0.1)).toThrow(/eta must be in/);
      expect(() => ddimCoefficients(s, 501, 1, 5)).toThrow(/eta \(η_ddim\) = 5 is too large/);
    });
  });

  describe('classifier-free guidance', () => {
    it('scale 1 equals the conditional prediction; scale 0 the unconditional', () => {
      const u = f32(20, 4),
        c = f32(20, 5);
      expect(Array.from(cfgCombine(u, c, 1))).toEqual(Array.from(c));
      expect(Array.from(cfgCombine(u, c, 0))).toEqual(Array.from(u));
      const g = cfgCombine(u, c, 7.5);
      for (let i = 0; i < 20; i++) expect(g[i]).toBeCloseTo(u[i] + 7.5 * (c[i] - u[i]), 5);
    });
    it('rejects mismatched lengths and NaN scale', () => {
      expect(() => cfgCombine(f32(3, 1), f32(4, 1), 2)).toThrow(/cond must have the length of uncond \(3\), got 4/);
      expect(() => cfgCombine(f32(3, 1), f32(3, 1), NaN)).toThrow(/scale must be a number/);
    });
  });
});
