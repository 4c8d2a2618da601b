import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { latentToRGBA, makeRGBA, rgbaFromSdImage, upscaleNearest } from '../../src/image/raster.ts';

const px = (img: { width: number; data: Uint8ClampedArray }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('latentToRGBA', () => {
  it('maps grey values with (v−lo)/(hi−lo)·255, halves rounded up, alpha 255', () => {
    const img = latentToRGBA(new Float32Array([-1, 0, 1, 0.5]), 1, 2, 2);
    expect(img.width).toBe(2);
    expect(img.height).toBe(2);
    expect(Array.from(img.data)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 191, 191, 191, 255]);
  });

  it('reads channel-major C×H×W (R plane, then G, then B)', () => {
    // H = 1, W = 2: R = [−1, 1], G = [0, 0], B = [1, −1]
    const img = latentToRGBA(new Float32Array([-1, 1, 0, 0, 1, -1]), 3, 1, 2);
    expect(px(img, 0, 0)).toEqual([0, 128, 255, 255]);
    expect(px(img, 1, 0)).toEqual([255, 128, 0, 255]);
  });

  it('uses the given range and clips out-of-range values to 0 and 255', () => {
    const img = latentToRGBA(new Float32Array([0.5, 2, -3, 0.1]), 1, 1, 4, { range: [0, 1] });
    expect([0, 1, 2, 3].map((x) => px(img, x, 0)[0])).toEqual([128, 255, 0, 26]);
  });

  it('upscales by nearest neighbour: each pixel becomes a scale×scale block', () => {
    const img = latentToRGBA(new Float32Array([-1, 1, 0, 0.5]), 1, 2, 2, { scale: 3 });
    expect([img.width, img.height]).toEqual([6, 6]);
    const expected = [
      [0, 255],
      [128, 191],
    ];
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 6; x++) expect(px(img, x, y)[0]).toBe(expected[Math.floor(y / 3)][Math.floor(x / 3)]);
  });

  fcTest.prop(
    [
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(1, 3),
      fc.double({ min: -10, max: 10, noNaN: true }),
      fc.double({ min: 0.01, max: 10, noNaN: true }),
    ],
    { numRuns: 60 },
  )('every channel byte is within 0.5 of the clipped exact value', (h, w, c, lo, span) => {
    const hi = lo + span;
    const x = new Float32Array(c * h * w).map((_, i) => lo - span / 2 + (((i * 7919) % 101) / 100) * 2 * span);
    const img = latentToRGBA(x, c, h, w, { range: [lo, hi] });
    for (let p = 0; p < h * w; p++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = x[c === 1 ? p : ch * h * w + p];
        const exact = Math.min(255, Math.max(0, ((v - lo) / (hi - lo)) * 255));
        expect(Math.abs(img.data[p * 4 + ch] - exact)).toBeLessThanOrEqual(0.5 + 1e-9);
      }
      expect(img.data[p * 4 + 3]).toBe(255);
    }
  });

  it('throws naming the index of a non-finite value', () => {
    expect(() => latentToRGBA(new Float32Array([0, 0, 0, NaN]), 1, 2, 2)).toThrow(/image\[3\] must be finite, got NaN/);
    expect(() => latentToRGBA(new Float32Array([0, Infinity, 0]), 3, 1, 1)).toThrow(/image\[1\] must be finite/);
  });

  it('rejects bad inputs naming the parameter', () => {
    const x = new Float32Array(12);
    expect(() => latentToRGBA(x, 3, 2, 3)).toThrow(/image must have length channels·height·width = 3·2·3 = 18, got 12/);
    expect(() => latentToRGBA(x, 4, 1, 3)).toThrow(/channels must be 1 \(grey\) or 3 \(RGB\), got 4/);
    expect(() => latentToRGBA(x, 3, 2, 2, { scale: 0 })).toThrow(RangeError);
    expect(() => latentToRGBA(x, 3, 2, 2, { scale: 0 })).toThrow(/opts\.scale must be an integer in \[1, 256\], got 0/);
    expect(() => latentToRGBA(x, 3, 2, 2, { scale: 1.5 })).toThrow(TypeError);
    expect(() => latentToRGBA(x, 3, 2, 2, { range: [1, 1] })).toThrow(
      /opts\.range must be finite numbers \[lo, hi\] with lo < hi/,
    );
    expect(() => latentToRGBA(x, 3, 0, 2)).toThrow(/height must be an integer in \[1, /);
    expect(() => latentToRGBA([0] as unknown as Float32Array, 1, 1, 1)).toThrow(/image must be a Float32Array/);
  });
});

describe('rgbaFromSdImage', () => {
  it('follows diffusers: (img/2 + 0.5).clamp(0, 1)·255 in float32, rounded half to even', () => {
    // −0.4941176176… (float32) gives u·255 = 64.5 exactly in float32 → numpy rounds to 64.
    const v = Math.fround(-0.4941176176071167);
    const img = rgbaFromSdImage(new Float32Array([-1, 0, 1, 3, -5, v]), 1, 2);
    expect(px(img, 0, 0)).toEqual([0, 255, 0, 255]); // R = −1, G = 1, B = −5 (clamped)
    expect(px(img, 1, 0)).toEqual([128, 255, 64, 255]); // R = 0 → 127.5 → 128, G = 3 (clamped), B = 64.5 → 64
  });

  fcTest.prop([fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 })], { numRuns: 100 })(
    'differs from latentToRGBA with range [−1, 1] by at most 1',
    (vals) => {
      const x = new Float32Array(vals);
      const a = rgbaFromSdImage(x, 1, 1);
      const b = latentToRGBA(x, 3, 1, 1);
      for (let i = 0; i < 4; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThanOrEqual(1);
    },
  );

  it('rejects a wrong length and non-finite values', () => {
    expect(() => rgbaFromSdImage(new Float32Array(4), 1, 2)).toThrow(
      /image must have length channels·height·width = 3·1·2 = 6, got 4/,
    );
    expect(() => rgbaFromSdImage(new Float32Array([0, NaN, 0]), 1, 1)).toThrow(/image\[1\] must be finite/);
  });
});

describe('makeRGBA and upscaleNearest', () => {
  it('fills and upscales exactly', () => {
    const img = makeRGBA(2, 1, [1, 2, 3, 4]);
    img.data.set([9, 8, 7, 6], 4);
    const up = upscaleNearest(img, 2);
    expect([up.width, up.height]).toEqual([4, 2]);
    expect(Array.from(up.data)).toEqual([
      1, 2, 3, 4, 1, 2, 3, 4, 9, 8, 7, 6, 9, 8, 7, 6, 1, 2, 3, 4, 1, 2, 3, 4, 9, 8, 7, 6, 9, 8, 7, 6,
    ]);
  });

  it('rejects a bad raster or scale', () => {
    expect(() => upscaleNearest({ width: 2, height: 2, data: new Uint8ClampedArray(15) }, 2)).toThrow(
      /img\.data must have length width·height·4 = 16, got 15/,
    );
    expect(() => upscaleNearest(makeRGBA(1, 1), 0)).toThrow(/scale must be an integer in \[1, 256\]/);
  });
});
