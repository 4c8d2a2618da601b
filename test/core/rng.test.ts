import { readFileSync } from 'node:fs';
import { describe, expect, it as vit } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { gaussianRng, randn, xoshiro128ssNext } from '../../src/core/rng.ts';
import { GOLDEN_SEED42_STREAM0, GOLDEN_SEED42_STREAM1, hex64 } from '../helpers/rng-golden.ts';

// Golden values shared with the Deno test (test-deno/rng_test.ts).

function firstNormals(seed: number, stream: number, n: number): number[] {
  const g = gaussianRng(seed, stream);
  return Array.from({ length: n }, () => g.normal());
}

describe('xoshiro128**', () => {
  vit('matches the reference generator from state (1, 2, 3, 4)', () => {
    // Output of the authors' xoshiro128starstar.c (v1.1) for s = {1, 2, 3, 4}, as published in
    // the test vectors of Rust's rand_xoshiro.
    const st = new Int32Array([1, 2, 3, 4]);
    const out = Array.from({ length: 10 }, () => xoshiro128ssNext(st));
    expect(out).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });
});

describe('golden stream', () => {
  vit('seed 42 streams 0 and 1 give the recorded float64 bits', () => {
    expect(firstNormals(42, 0, 8).map(hex64)).toEqual(GOLDEN_SEED42_STREAM0);
    expect(firstNormals(42, 1, 8).map(hex64)).toEqual(GOLDEN_SEED42_STREAM1);
  });

  vit('the Deno golden test checks the same shared constants', () => {
    const denoTest = readFileSync(new URL('../../test-deno/rng_test.ts', import.meta.url), 'utf8');
    expect(denoTest).toMatch(
      /import \{[^}]*GOLDEN_SEED42_STREAM0[^}]*GOLDEN_SEED42_STREAM1[^}]*\} from '\.\.\/test\/helpers\/rng-golden\.ts'/,
    );
  });
});

describe('normal moments', () => {
  vit('mean, variance, skewness and excess kurtosis of 2^20 normals are within 5 standard errors', () => {
    const n = 1 << 20;
    const x = randn(7, n);
    let s1 = 0;
    for (let i = 0; i < n; i++) s1 += x[i];
    const mean = s1 / n;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (let i = 0; i < n; i++) {
      const d = x[i] - mean;
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m3 / m2 ** 1.5)).toBeLessThan(5 * Math.sqrt(6 / n));
    expect(Math.abs(m4 / (m2 * m2) - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
  });

  vit('std scales the values exactly like std · normal()', () => {
    const a = gaussianRng(3).fillNormal(new Float32Array(101), 0, 101, 2.5);
    const g = gaussianRng(3);
    for (let i = 0; i < 101; i++) expect(a[i]).toBe(Math.fround(2.5 * g.normal()));
  });

  vit('std = 0 gives zeros (signed zeros allowed)', () => {
    const out = gaussianRng(3).fillNormal(new Float32Array(5).fill(7), 0, 5, 0);
    expect(Array.from(out).every((v) => v === 0)).toBe(true);
  });
});

describe('uniforms', () => {
  vit('2^20 float64 uniforms lie in [0, 1) with mean 1/2 and variance 1/12 within 5 standard errors', () => {
    const n = 1 << 20;
    const g = gaussianRng(11);
    let min = Infinity;
    let max = -Infinity;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const u = g.uniform();
      if (u < min) min = u;
      if (u > max) max = u;
      s += u;
      s2 += u * u;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    // Var of (U − 1/2)² is 1/180.
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / n));
  });

  vit('fillUniform stores each uniform() truncated to float32, so values stay in [0, 1)', () => {
    const n = 4096;
    const out = gaussianRng(5).fillUniform(new Float32Array(n));
    const g = gaussianRng(5);
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      const u = g.uniform();
      expect(out[i]).toBeLessThanOrEqual(u);
      f[0] = out[i];
      bits[0] += 1; // next float32 up
      expect(f[0]).toBeGreaterThan(u);
      expect(out[i]).toBeLessThan(1);
    }
  });
});

describe('determinism and streams', () => {
  it.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 0xffffffff })])(
    'same seed and stream give the same values',
    (seed, stream) => {
      expect(randn(seed, 33, stream)).toEqual(randn(seed, 33, stream));
      expect(gaussianRng(seed, stream).seed).toBe(seed);
      expect(gaussianRng(seed, stream).stream).toBe(stream);
    },
  );

  it.prop([
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 0xffffffff }),
  ])('different streams of one seed give different values', (seed, s1, s2) => {
    fc.pre(s1 !== s2);
    expect(randn(seed, 8, s1)).not.toEqual(randn(seed, 8, s2));
  });

  it.prop([fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 })])(
    'neighbouring seeds give different values',
    (seed) => {
      expect(randn(seed, 8)).not.toEqual(randn(seed + 1, 8));
      // Seeds that differ only above bit 32 differ too.
      if (seed + 2 ** 32 <= Number.MAX_SAFE_INTEGER) expect(randn(seed, 8)).not.toEqual(randn(seed + 2 ** 32, 8));
    },
  );

  vit('streams 0..3 of one seed and seeds 0..3 of one stream are uncorrelated (|r| < 5/√n)', () => {
    const n = 1 << 16;
    const xs = [0, 1, 2, 3].map((s) => randn(123, n, s)).concat([0, 1, 2, 3].map((seed) => randn(seed, n, 9)));
    for (let a = 0; a < xs.length; a++) {
      for (let b = a + 1; b < xs.length; b++) {
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let i = 0; i < n; i++) {
          dot += xs[a][i] * xs[b][i];
          na += xs[a][i] * xs[a][i];
          nb += xs[b][i] * xs[b][i];
        }
        expect(Math.abs(dot / Math.sqrt(na * nb))).toBeLessThan(5 / Math.sqrt(n));
      }
    }
  });

  it.prop([fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 })])(
    'fillNormal in pieces continues the normal() stream (cached sine half included)',
    (a, b, seed) => {
      const g = gaussianRng(seed);
      const out = new Float32Array(a + b);
      g.fillNormal(out, 0, a);
      g.fillNormal(out, a, b);
      const tail = g.normal();
      const ref = gaussianRng(seed);
      for (let i = 0; i < a + b; i++) expect(out[i]).toBe(Math.fround(ref.normal()));
      expect(tail).toBe(ref.normal());
    },
  );
});

describe('fillNormal slices', () => {
  vit('writes only out[offset .. offset+length)', () => {
    const out = new Float32Array(20).fill(7);
    gaussianRng(9).fillNormal(out, 5, 10);
    const ref = randn(9, 10);
    for (let i = 0; i < 20; i++) {
      if (i < 5 || i >= 15) expect(out[i]).toBe(7);
      else expect(out[i]).toBe(ref[i - 5]);
    }
  });

  vit('length defaults to the rest of the array; length 0 writes nothing', () => {
    const out = new Float32Array(6).fill(7);
    gaussianRng(9).fillNormal(out, 4);
    expect(Array.from(out.subarray(0, 4))).toEqual([7, 7, 7, 7]);
    expect(Array.from(out.subarray(4))).toEqual(Array.from(randn(9, 2)));
    const untouched = new Float32Array(3).fill(7);
    gaussianRng(9).fillNormal(untouched, 3, 0);
    expect(Array.from(untouched)).toEqual([7, 7, 7]);
  });

  vit('fillUniform honours offset and length too', () => {
    const out = new Float32Array(8).fill(7);
    gaussianRng(2).fillUniform(out, 2, 3);
    expect(Array.from(out.subarray(0, 2))).toEqual([7, 7]);
    expect(Array.from(out.subarray(5))).toEqual([7, 7, 7]);
    expect(Array.from(out.subarray(2, 5))).toEqual(Array.from(gaussianRng(2).fillUniform(new Float32Array(3))));
  });
});

describe('input validation', () => {
  vit('seed must be an integer in [0, 2^53-1]', () => {
    expect(() => gaussianRng(-1)).toThrow(RangeError);
    expect(() => gaussianRng(-1)).toThrow(/seed must be an integer in \[0, 9007199254740991\], got -1/);
    expect(() => gaussianRng(1.5)).toThrow(TypeError);
    expect(() => gaussianRng(1.5)).toThrow(/seed/);
    expect(() => gaussianRng(Number.NaN)).toThrow(/seed must be an integer.*got NaN/);
    expect(() => gaussianRng(2 ** 53)).toThrow(/seed/);
    expect(() => gaussianRng('1' as unknown as number)).toThrow(/seed.*got "1"/);
  });

  vit('stream must be an integer in [0, 2^32-1]', () => {
    expect(() => gaussianRng(0, -1)).toThrow(/stream must be an integer in \[0, 4294967295\], got -1/);
    expect(() => gaussianRng(0, 2 ** 32)).toThrow(RangeError);
    expect(() => gaussianRng(0, 0.5)).toThrow(/stream/);
  });

  vit('offset, length, std and out are checked', () => {
    const g = gaussianRng(0);
    const out = new Float32Array(10);
    expect(() => g.fillNormal(out, 11)).toThrow(/offset must be an integer in \[0, 10\], got 11/);
    expect(() => g.fillNormal(out, -1)).toThrow(/offset/);
    expect(() => g.fillNormal(out, 1.5)).toThrow(TypeError);
    expect(() => g.fillNormal(out, 4, 7)).toThrow(/length must be an integer in \[0, 6\], got 7/);
    expect(() => g.fillNormal(out, 0, 10, -1)).toThrow(/std must be in \[0, .*\], got -1/);
    expect(() => g.fillNormal(out, 0, 10, Number.NaN)).toThrow(/std/);
    expect(() => g.fillNormal(out, 0, 10, Infinity)).toThrow(/std/);
    expect(() => g.fillNormal(new Float64Array(3) as unknown as Float32Array)).toThrow(/out must be a Float32Array/);
    expect(() => g.fillUniform(out, 0, 11)).toThrow(/length/);
    expect(() => randn(0, -1)).toThrow(/n must be an integer/);
  });

  vit('a rejected call leaves the stream where it was', () => {
    const g = gaussianRng(4);
    expect(() => g.fillNormal(new Float32Array(2), 5)).toThrow(/offset/);
    expect(g.normal()).toBe(gaussianRng(4).normal());
  });
});
