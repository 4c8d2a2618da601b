import { describe, expect, it as vit } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { mt19937, torchGenerator, torchRand, torchRandn, TORCH_DEFAULT_SEED } from '../../src/core/torch-rng.ts';

/** Asserts |got[i] − want[i]| ≤ tol for all i (published PyTorch values are printed to 4 decimals). */
function expectClose(got: Float32Array, want: readonly number[], tol = 1e-4): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > tol) {
      throw new Error(`index ${i}: expected ${want[i]} ± ${tol}, got ${got[i]}`);
    }
  }
}

describe('mt19937', () => {
  vit('first output for the standard seed 5489 is 3499211612', () => {
    expect(mt19937(5489).next()).toBe(3499211612);
  });

  vit('10000th output for seed 5489 is 4123659995 (the C++ standard check value)', () => {
    const g = mt19937(5489);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = g.next();
    expect(v).toBe(4123659995);
  });

  vit('rejects a seed outside [0, 2^32-1]', () => {
    expect(() => mt19937(2 ** 32)).toThrow(/seed32 must be an integer in \[0, 4294967295\]/);
  });
});

describe('published PyTorch CPU values', () => {
  vit('seed 0: torch.rand(4)', () => {
    expectClose(torchRand(0, [4]), [0.4963, 0.7682, 0.0885, 0.132]);
  });

  vit('seed 0: torch.randn(6) and torch.randn(3, 5) (double path, n < 16)', () => {
    expectClose(torchRandn(0, [6]), [1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986]);
    expectClose(
      torchRandn(0, [3, 5]),
      [
        1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986, 0.4033, 0.838, -0.7193, -0.4033, -0.5966, 0.182, -0.8567,
        1.1006, -1.0712,
      ],
    );
  });

  vit('seed 0: torch.randn(4, 4) (float path, one block of 16)', () => {
    expectClose(
      torchRandn(0, [4, 4]),
      [
        -1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152, 0.3223, -1.2633, 0.35, 0.3081, 0.1198,
        1.2377, 1.1168, -0.2473,
      ],
    );
  });

  vit('seed 0: torch.randn(2, 3, 4) (n = 24: last 16 slots redrawn)', () => {
    expectClose(
      torchRandn(0, [2, 3, 4]),
      [
        -1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152, 0.4681, -0.1577, 1.4437, 0.266, 0.1665,
        0.8744, -0.1435, -0.1116, 0.9318, 1.259, 2.005, 0.0537, 0.6181, -0.4128, -0.8411, -2.316,
      ],
    );
  });

  vit('seed 42: torch.rand(3), torch.randn(2, 3) and torch.randn(4, 4)', () => {
    expectClose(torchRand(42, [3]), [0.8823, 0.915, 0.3829]);
    expectClose(torchRandn(42, [2, 3]), [0.3367, 0.1288, 0.2345, 0.2303, -1.1229, -0.1863]);
    expectClose(
      torchRandn(42, [4, 4]),
      [
        1.9269, 1.4873, 0.9007, -2.1055, 0.6784, -1.2345, -0.0431, -1.6047, -0.7521, 1.6487, -0.3925, -1.4036, -0.7279,
        -0.5594, -0.7688, 0.7624,
      ],
    );
  });
});

describe('normal_fill structure', () => {
  /** normal_fill_16 in float64 on 16 uniforms: the reference transform of ATen. */
  function reference16(u: Float32Array): number[] {
    const d = Array.from(u);
    for (let j = 0; j < 8; j++) {
      const r = Math.sqrt(-2 * Math.log(1 - u[j]));
      const theta = 2 * Math.PI * u[j + 8];
      d[j] = r * Math.cos(theta);
      d[j + 8] = r * Math.sin(theta);
    }
    return d;
  }

  it.prop([fc.integer({ min: 17, max: 100 }).filter((n) => n % 16 !== 0), fc.integer({ min: 0, max: 2 ** 32 - 1 })])(
    'n % 16 ≠ 0: leading values match the multiple-of-16 draw, the last 16 transform uniforms n..n+15',
    (n, seed) => {
      const x = torchRandn(seed, [n]);
      const full = Math.floor(n / 16) * 16;
      const lead = torchRandn(seed, [full]);
      for (let i = 0; i < n - 16; i++) expect(x[i]).toBe(lead[i]);
      const u = torchRand(seed, [n + 16]).subarray(n);
      const tail = reference16(u);
      for (let i = 0; i < 16; i++)
        expect(Math.abs(x[n - 16 + i] - tail[i])).toBeLessThan(1e-5 * (1 + Math.abs(tail[i])));
    },
  );

  it.prop([fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })])(
    'multiples of 16: each block is normal_fill_16 of the same rand() stream',
    (blocks, seed) => {
      const n = 16 * blocks;
      const x = torchRandn(seed, [n]);
      const u = torchRand(seed, [n]);
      for (let b = 0; b < blocks; b++) {
        const ref = reference16(u.subarray(16 * b, 16 * b + 16));
        for (let i = 0; i < 16; i++)
          expect(Math.abs(x[16 * b + i] - ref[i])).toBeLessThan(1e-5 * (1 + Math.abs(ref[i])));
      }
    },
  );
});

describe('generator state', () => {
  vit('the double path caches the sine half across calls', () => {
    const g = torchGenerator(0);
    const a = g.randn(5);
    const b = g.randn(1);
    const all = torchRandn(0, [6]);
    expect(Array.from(a)).toEqual(Array.from(all.subarray(0, 5)));
    expect(b[0]).toBe(all[5]);
  });

  vit('manualSeed restarts the stream and clears the cached sample', () => {
    const g = torchGenerator(0);
    g.randn(5);
    g.manualSeed(0);
    expect(Array.from(g.randn(6))).toEqual(Array.from(torchRandn(0, [6])));
    g.manualSeed(42);
    expect(Array.from(g.rand(3))).toEqual(Array.from(torchRand(42, [3])));
  });

  vit('the default seed is 67280421310721, and only its low 32 bits reach mt19937', () => {
    expect(TORCH_DEFAULT_SEED).toBe(67280421310721n);
    const ref = torchGenerator(67280421310721).randn(20);
    expect(Array.from(torchGenerator().randn(20))).toEqual(Array.from(ref));
    expect(Array.from(torchGenerator(67280421310721 % 2 ** 32).randn(20))).toEqual(Array.from(ref));
  });

  vit('negative seeds are 64-bit two\u2019s complement; seeds equal mod 2^32 give one stream', () => {
    const a = torchRandn(-1, [20]);
    expect(Array.from(torchRandn(2n ** 64n - 1n, [20]))).toEqual(Array.from(a));
    expect(Array.from(torchRandn(0xffffffff, [20]))).toEqual(Array.from(a));
    expect(Array.from(torchRandn(2 ** 32 + 5, [4]))).toEqual(Array.from(torchRandn(5, [4])));
    expect(Array.from(torchRandn(-(2n ** 63n), [4]))).toEqual(Array.from(torchRandn(0, [4])));
  });

  vit('empty shapes give empty arrays; a scalar shape [] gives one value', () => {
    expect(torchRandn(0, [0, 3]).length).toBe(0);
    expect(torchRandn(0, []).length).toBe(1);
    expect(torchRandn(0, [])[0]).toBe(torchRandn(0, [1])[0]);
  });
});

describe('input validation', () => {
  vit('seed range and type', () => {
    expect(() => torchRandn(1.5, [2])).toThrow(TypeError);
    expect(() => torchRandn(1.5, [2])).toThrow(/seed must be an integer/);
    expect(() => torchRandn(Number.NaN, [2])).toThrow(/seed.*got NaN/);
    expect(() => torchRandn(2 ** 60, [2])).toThrow(/seed must be a safe integer.*bigint/);
    expect(() => torchRandn(2n ** 64n, [2])).toThrow(/seed must be an integer in \[-2\^63, 2\^64-1\]/);
    expect(() => torchRandn(-(2n ** 63n) - 1n, [2])).toThrow(RangeError);
    expect(() => torchGenerator(0).manualSeed('3' as unknown as number)).toThrow(/seed.*got "3"/);
  });

  vit('shape entries and counts', () => {
    expect(() => torchRandn(0, [2, -1])).toThrow(/shape\[1\] must be an integer in \[0, 2147483647\], got -1/);
    expect(() => torchRandn(0, [2.5])).toThrow(/shape\[0\]/);
    expect(() => torchRandn(0, 4 as unknown as number[])).toThrow(/shape must be an array/);
    expect(() => torchRandn(0, [2 ** 16, 2 ** 16])).toThrow(/shape must have at most 2147483647 elements/);
    expect(() => torchGenerator(0).randn(-1)).toThrow(/n must be an integer/);
    expect(() => torchGenerator(0).rand(0.5)).toThrow(/n must be an integer/);
  });
});
