import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  foldWeightsToSymmetric,
  lerp,
  makeSphericalMean,
  nlerp,
  pairwiseRule,
  slerp,
  sphericalMean,
  vp,
} from '../../src/core/rules.ts';
import { resolveRule } from '../../src/core/rule-registry.ts';
import { angleAt, sqNormAt } from '../../src/core/tensor.ts';
import { forEachBackend } from '../helpers/backends.ts';

// vectors with entries in [−4, 4] on a 1/250 grid: well spread, rarely degenerate
const vec = (dim: number) =>
  fc
    .array(fc.integer({ min: -1000, max: 1000 }), { minLength: dim, maxLength: dim })
    .map((a) => Float32Array.from(a, (v) => v / 250));
const norm = (x: Float32Array) => Math.sqrt(sqNormAt(x, 0, x.length));
const scaleTo = (x: Float32Array, r: number) => {
  const n = norm(x);
  return x.map((v) => (v * r) / n);
};
const nonDegenerate = (a: Float32Array, b: Float32Array) => {
  const na = norm(a),
    nb = norm(b);
  if (na < 1e-2 || nb < 1e-2) return false;
  const th = angleAt(a, b, 0, a.length);
  return th > 1e-3 && th < Math.PI - 1e-2;
};
const apply = (rule: typeof slerp, a: Float32Array, b: Float32Array, w: number) =>
  rule([a, b], [w], new Float32Array(a.length), a.length);

forEachBackend(() => {
  describe('slerp (eq. 8)', () => {
    it('endpoints are exact: w = 0 → a, w = 1 → b', () => {
      fc.assert(
        fc.property(vec(8), vec(8), (a, b) => {
          fc.pre(nonDegenerate(a, b));
          const r0 = apply(slerp, a, b, 0),
            r1 = apply(slerp, a, b, 1);
          for (let i = 0; i < 8; i++) {
            expect(r0[i]).toBe(a[i]);
            expect(r1[i]).toBeCloseTo(b[i], 5);
          }
        }),
      );
    });
    it('equal norms: ‖slerp‖ = ‖a‖ and the angle to a is w·θ', () => {
      fc.assert(
        fc.property(vec(16), vec(16), fc.double({ min: 0, max: 1, noNaN: true }), (a0, b0, w) => {
          fc.pre(nonDegenerate(a0, b0));
          const a = scaleTo(a0, 3),
            b = scaleTo(b0, 3);
          const theta = angleAt(a, b, 0, 16);
          const r = apply(slerp, a, b, w);
          expect(norm(r)).toBeCloseTo(3, 4);
          expect(angleAt(a, r, 0, 16)).toBeCloseTo(w * theta, 3);
        }),
      );
    });
    it('symmetric: slerp(a, b, w) = slerp(b, a, 1 − w)', () => {
      fc.assert(
        fc.property(vec(8), vec(8), fc.double({ min: 0, max: 1, noNaN: true }), (a, b, w) => {
          fc.pre(nonDegenerate(a, b));
          const r1 = apply(slerp, a, b, w),
            r2 = apply(slerp, b, a, 1 - w);
          for (let i = 0; i < 8; i++) expect(r1[i]).toBeCloseTo(r2[i], 4);
        }),
      );
    });
    it('orthogonal unit vectors at w = ½ give (a + b)/√2 (reference value)', () => {
      const a = Float32Array.from([1, 0, 0, 0]),
        b = Float32Array.from([0, 1, 0, 0]);
      const r = apply(slerp, a, b, 0.5);
      expect(r[0]).toBeCloseTo(Math.SQRT1_2, 7);
      expect(r[1]).toBeCloseTo(Math.SQRT1_2, 7);
    });
    it('tiny θ falls back to lerp (finite, no 0/0); antipodal inputs throw naming the sample', () => {
      const a = Float32Array.from([1, 1e-6, 0]),
        b = Float32Array.from([1, 0, 0]);
      const r = apply(slerp, a, b, 0.3);
      expect(Array.from(r).every(Number.isFinite)).toBe(true);
      expect(r[1]).toBeCloseTo(0.7e-6, 12);
      const x = Float32Array.from([1, 2, 3, 1, 0, 0]);
      const y = Float32Array.from([1, 0, 1, -1, 0, 0]); // sample 1 is antipodal
      expect(() => slerp([x, y], [0.5], new Float32Array(6), 3)).toThrow(/slerp: sample 1 has antipodal inputs/);
    });
    it('near θ = π with unequal norms eq. 8 grows like |‖a‖ − ‖b‖|/sin θ; sphericalMean stays bounded', () => {
      const d = 1e-3; // θ = π − d
      const a = Float32Array.of(1, 0),
        b = Float32Array.of(2 * Math.cos(Math.PI - d), 2 * Math.sin(Math.PI - d));
      const r = apply(slerp, a, b, 0.5);
      const expected = Math.hypot(
        (Math.sin(0.5 * (Math.PI - d)) / Math.sin(d)) * 1 +
          (Math.sin(0.5 * (Math.PI - d)) / Math.sin(d)) * 2 * Math.cos(Math.PI - d),
        (Math.sin(0.5 * (Math.PI - d)) / Math.sin(d)) * 2 * Math.sin(Math.PI - d),
      );
      expect(norm(r)).toBeCloseTo(expected, 0);
      expect(norm(r)).toBeGreaterThan(400); // ≈ (2 − 1)·sin(π/2)/sin(d) = 1000·… : unbounded as d → 0
      const m = sphericalMean([a, b], [0.5, 0.5], new Float32Array(2), 2);
      expect(norm(m)).toBeCloseTo(1.5, 4);
    });
    it('works per sample: a batch equals each sample alone', () => {
      fc.assert(
        fc.property(vec(12), vec(12), fc.double({ min: 0, max: 1, noNaN: true }), (a, b, w) => {
          for (let s = 0; s < 3; s++) fc.pre(nonDegenerate(a.subarray(4 * s, 4 * s + 4), b.subarray(4 * s, 4 * s + 4)));
          const batch = slerp([a, b], [w], new Float32Array(12), 4);
          for (let s = 0; s < 3; s++) {
            const one = apply(slerp, a.slice(4 * s, 4 * s + 4), b.slice(4 * s, 4 * s + 4), w);
            for (let i = 0; i < 4; i++) expect(batch[4 * s + i]).toBe(one[i]);
          }
        }),
      );
    });
  });

  describe('lerp, nlerp, vp', () => {
    it('lerp norm shrinkage matches the closed form for orthogonal inputs: r·√((1−w)² + w²)', () => {
      const a = Float32Array.from([2, 0, 0]),
        b = Float32Array.from([0, 2, 0]);
      for (const w of [0, 0.25, 0.5, 0.9])
        expect(norm(apply(lerp, a, b, w))).toBeCloseTo(2 * Math.sqrt((1 - w) ** 2 + w ** 2), 6);
    });
    it('nlerp has the interpolated norm and the lerp direction', () => {
      fc.assert(
        fc.property(vec(8), vec(8), fc.double({ min: 0, max: 1, noNaN: true }), (a, b, w) => {
          fc.pre(nonDegenerate(a, b));
          const r = apply(nlerp, a, b, w),
            l = apply(lerp, a, b, w);
          fc.pre(norm(l) > 1e-3);
          expect(norm(r)).toBeCloseTo((1 - w) * norm(a) + w * norm(b), 4);
          expect(angleAt(r, l, 0, 8)).toBeLessThan(1e-3);
        }),
      );
      expect(() => apply(nlerp, Float32Array.from([1, 0]), Float32Array.from([-1, 0]), 0.5)).toThrow(
        /nlerp: sample 0: the linear interpolation is zero/,
      );
    });
    it('vp is the official ω·a + √(1 − ω²)·b with ω = √(1 − w²)', () => {
      const a = Float32Array.from([1, 2]),
        b = Float32Array.from([3, -1]);
      const omega = 0.5; // official UI default
      const r = apply(vp, a, b, Math.sqrt(1 - omega * omega));
      expect(r[0]).toBeCloseTo(omega * 1 + Math.sqrt(0.75) * 3, 6);
      expect(r[1]).toBeCloseTo(omega * 2 - Math.sqrt(0.75), 6);
    });
    it('every pairwise rule rejects a weight outside [0, 1] and mismatched lengths', () => {
      for (const rule of [slerp, lerp, nlerp, vp]) {
        expect(() => apply(rule, Float32Array.of(1), Float32Array.of(2), 1.5)).toThrow(
          /weight must be in \[0, 1\], got 1.5/,
        );
        expect(() => rule([Float32Array.of(1, 2), Float32Array.of(1)], [0.5], new Float32Array(2), 2)).toThrow(
          /xs\[1\] must have length 2/,
        );
      }
      expect(() => resolveRule('cubic' as never)).toThrow(
        /rule must be one of 'slerp', 'lerp', 'nlerp', 'vp', 'sphericalMean'/,
      );
    });
  });

  describe('symmetric spherical mean', () => {
    it('two inputs of equal norm: equals slerp(a, b; w)', () => {
      fc.assert(
        fc.property(vec(16), vec(16), fc.double({ min: 0, max: 1, noNaN: true }), (a0, b0, w) => {
          fc.pre(nonDegenerate(a0, b0) && angleAt(a0, b0, 0, 16) < 2.5);
          const a = scaleTo(a0, 2),
            b = scaleTo(b0, 2);
          const m = sphericalMean([a, b], [1 - w, w], new Float32Array(16), 16);
          const sl = apply(slerp, a, b, w);
          for (let i = 0; i < 16; i++) expect(m[i]).toBeCloseTo(sl[i], 4);
        }),
      );
    });
    it('is invariant to the order of the inputs, and stationary: Σ wₖ log_q(x̂ₖ) = 0', () => {
      fc.assert(
        fc.property(vec(6), vec(6), vec(6), (a, b, c) => {
          fc.pre(nonDegenerate(a, b) && nonDegenerate(b, c) && nonDegenerate(a, c));
          fc.pre(angleAt(a, b, 0, 6) < 2 && angleAt(b, c, 0, 6) < 2 && angleAt(a, c, 0, 6) < 2);
          const w = [0.2, 0.5, 0.3];
          const m1 = sphericalMean([a, b, c], w, new Float32Array(6), 6);
          const m2 = sphericalMean([c, a, b], [0.3, 0.2, 0.5], new Float32Array(6), 6);
          for (let i = 0; i < 6; i++) expect(m1[i]).toBeCloseTo(m2[i], 4);
          // first-order optimality on the sphere
          const q = Array.from(m1, (v) => v / norm(m1));
          const u = new Array(6).fill(0);
          [a, b, c].forEach((x, k) => {
            const nx = norm(x);
            const cth = Math.max(
              -1,
              Math.min(
                1,
                q.reduce((s, qi, i) => s + (qi * x[i]) / nx, 0),
              ),
            );
            const th = Math.acos(cth);
            for (let i = 0; i < 6; i++) u[i] += ((w[k] * th) / Math.sin(th)) * (x[i] / nx - cth * q[i]);
          });
          expect(Math.hypot(...u)).toBeLessThan(1e-5);
          expect(norm(m1)).toBeCloseTo(0.2 * norm(a) + 0.5 * norm(b) + 0.3 * norm(c), 4);
        }),
      );
    });
    it('fold weights map to symmetric weights that sum to 1 (lerp fold = weighted mean)', () => {
      const w = [0.5, 0.65];
      const sw = foldWeightsToSymmetric(w);
      expect(sw[0]).toBeCloseTo(0.5 * 0.35, 12);
      expect(sw[1]).toBeCloseTo(0.5 * 0.35, 12);
      expect(sw[2]).toBeCloseTo(0.65, 12);
      expect(sw.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
      const a = Float32Array.of(1, 2),
        b = Float32Array.of(-1, 4),
        c = Float32Array.of(3, 3);
      const fold = apply(lerp, apply(lerp, a, b, w[0]), c, w[1]);
      for (let i = 0; i < 2; i++) expect(fold[i]).toBeCloseTo(sw[0] * a[i] + sw[1] * b[i] + sw[2] * c[i], 5);
    });
    it('rejects weights that do not sum to 1 and reports non-convergence', () => {
      const a = Float32Array.of(1, 0),
        b = Float32Array.of(0, 1);
      expect(() => sphericalMean([a, b], [0.5, 0.6], new Float32Array(2), 2)).toThrow(/weights must sum to 1, got 1.1/);
      expect(() => sphericalMean([a, b], [0.5], new Float32Array(2), 2)).toThrow(/weights must hold 2 weights/);
      const strict = makeSphericalMean({ maxIterations: 1, tolerance: 1e-15 });
      const c = Float32Array.of(-0.2, -1);
      expect(() => strict([a, b, c], [0.3, 0.3, 0.4], new Float32Array(2), 2)).toThrow(
        /did not converge to tolerance 1e-15 in 1 iterations/,
      );
    });
  });

  describe('user-defined rules', () => {
    it('pairwiseRule turns a per-sample function into a batched rule', () => {
      const maxRule = pairwiseRule('pick-larger', (a, b, w, out) => {
        const na = Math.hypot(...a),
          nb = Math.hypot(...b);
        out.set(na * (1 - w) >= nb * w ? a : b);
      });
      const r = maxRule([Float32Array.of(1, 0, 0, 5), Float32Array.of(0, 3, 1, 1)], [0.5], new Float32Array(4), 2);
      expect(Array.from(r)).toEqual([0, 3, 0, 5]);
      expect(maxRule.ruleName).toBe('pick-larger');
    });
  });
});
