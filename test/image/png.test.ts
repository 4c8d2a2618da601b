import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { decodePNG, encodePNG } from '../../src/image/png.ts';
import { makeRGBA, type RGBA } from '../../src/image/raster.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function noise(width: number, height: number, seed: number): RGBA {
  const img = makeRGBA(width, height);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < img.data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0; // xorshift32
    img.data[i] = s & 255;
  }
  return img;
}

describe('encodePNG / decodePNG', () => {
  it('writes a PNG: signature, then an IHDR with the width and height', async () => {
    const bytes = await encodePNG(makeRGBA(300, 7));
    expect(Array.from(bytes.subarray(0, 8))).toEqual(SIGNATURE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(String.fromCharCode(...bytes.subarray(12, 16))).toBe('IHDR');
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([300, 7]);
  });

  fcTest.prop(
    [fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer(), fc.integer({ min: 1, max: 9 })],
    { numRuns: 25 },
  )('round trip is lossless (all four channels, any alpha, any deflate level)', async (w, h, seed, level) => {
    const img = noise(w, h, seed);
    const back = await decodePNG(await encodePNG(img, { deflateLevel: level }));
    expect([back.width, back.height]).toEqual([w, h]);
    expect(back.data).toBeInstanceOf(Uint8ClampedArray);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });

  it('rejects truncated and non-PNG bytes', async () => {
    const bytes = await encodePNG(noise(16, 16, 7));
    await expect(decodePNG(bytes.subarray(0, bytes.length - 20))).rejects.toThrow(/bytes are not a valid PNG/);
    await expect(decodePNG(new Uint8Array([1, 2, 3]))).rejects.toThrow(/bytes must start with the PNG signature/);
    await expect(decodePNG('png' as unknown as Uint8Array)).rejects.toThrow(/bytes must be a Uint8Array/);
  });

  it('rejects a bad raster or deflate level naming the parameter', async () => {
    await expect(encodePNG({ width: 2, height: 2, data: new Uint8ClampedArray(8) })).rejects.toThrow(
      /rgba\.data must have length width·height·4 = 16, got 8/,
    );
    await expect(encodePNG({ width: 0, height: 2, data: new Uint8ClampedArray(0) })).rejects.toThrow(
      /rgba\.width must be an integer in \[1, /,
    );
    await expect(encodePNG(makeRGBA(1, 1), { deflateLevel: 0 })).rejects.toThrow(
      /opts\.deflateLevel must be an integer in \[1, 9\], got 0/,
    );
  });
});
