import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  allocElements,
  castInto,
  fillCast,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  fromFloat16Bits,
  readFloat32,
  toFloat16Bits,
} from '../../src/onnx/dtype.ts';

describe('float32 → float16 bits (round to nearest even)', () => {
  it('matches reference bit patterns', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [65504, 0x7bff], // largest finite half
      [65519, 0x7bff], // below the halfway point to 65536
      [65520, 0x7c00], // tie between 65504 and 2^16: to even → Infinity
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even → 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps: to even → 2
      [5 * 2 ** -25, 0x0002], // tie between 2 and 3 ulps: to even → 2
      [2 ** -26, 0x0000],
      [-(2 ** -24), 0x8001],
      [1 + 2 ** -11, 0x3c00], // tie: to even (mantissa 0)
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (mantissa 2)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2047.5, 0x6800], // tie between 2047 (odd mantissa) and 2048: to even → 2048
    ];
    for (const [x, bits] of cases) expect([x, float32ToFloat16Bits(x)]).toEqual([x, bits]);
  });

  it('maps NaN to a quiet NaN and back to NaN', () => {
    expect(float32ToFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('widens reference bit patterns exactly', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(2 ** -14 - 2 ** -24);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('round-trips every non-NaN half bit pattern', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const back = toFloat16Bits(fromFloat16Bits(bits));
    let mismatches = 0;
    for (let i = 0; i < 65536; i++) {
      const isNaN16 = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNaN16 && back[i] !== i) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('picks the nearest half, ties to the even mantissa (property)', () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
        const h = float32ToFloat16Bits(x);
        const v = float16BitsToFloat32(h);
        const err = Math.abs(x - v);
        // Neighbours one ulp away in magnitude (same sign).
        const mag = h & 0x7fff;
        const sign = h & 0x8000;
        for (const m of [mag - 1, mag + 1]) {
          if (m < 0 || m > 0x7bff) continue;
          const e2 = Math.abs(x - float16BitsToFloat32(sign | m));
          if (e2 < err) return false;
          if (e2 === err && (mag & 1) === 1) return false; // a tie must land on the even one
        }
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});

describe('castInto / readFloat32', () => {
  it('casts to every element type and reads back', () => {
    const src = [1, -2, 3];
    for (const t of ['float32', 'float16', 'int32', 'int64'] as const) {
      const d = allocElements(t, 3);
      castInto('v', src, t, d);
      expect([...readFloat32('v', t, d)]).toEqual(src);
    }
    const i64 = allocElements('int64', 3);
    castInto('v', src, 'int64', i64);
    expect(i64).toEqual(new BigInt64Array([1n, -2n, 3n]));
  });

  it('writes at an offset and fills one value', () => {
    const d = allocElements('float16', 4) as Uint16Array;
    castInto('v', [1], 'float16', d, 2);
    expect([...d]).toEqual([0, 0, 0x3c00, 0]);
    const t64 = allocElements('int64', 2);
    fillCast('t', 981, 'int64', t64, 0, 2);
    expect(t64).toEqual(new BigInt64Array([981n, 981n]));
    const rows = allocElements('float32', 5);
    fillCast('t', 0.5, 'float32', rows, 1, 3);
    expect([...rows]).toEqual([0, 0.5, 0.5, 0.5, 0]);
  });

  it('refuses NaN, float16 overflow and non-integers for integer types, naming the value', () => {
    expect(() => castInto('latent', [0, NaN], 'float32', allocElements('float32', 2))).toThrow(
      'latent must not contain NaN (index 1)',
    );
    expect(() => castInto('latent', [70000], 'float16', allocElements('float16', 1))).toThrow(
      'latent[0] = 70000 overflows float16 (finite range ±65504)',
    );
    expect(() => castInto('t', [1.5], 'int64', allocElements('int64', 1))).toThrow(
      't[0] must be a safe integer for an int64 input, got 1.5',
    );
    expect(() => castInto('ids', [2 ** 31], 'int32', allocElements('int32', 1))).toThrow(
      'ids[0] must be an integer in [-2147483648, 2147483647] for an int32 input, got 2147483648',
    );
    expect(() => castInto('x', [1, 2], 'float32', allocElements('float32', 1))).toThrow(
      'x: 2 values at offset 0 do not fit a buffer of 1',
    );
    expect(() => readFloat32('out', 'string', ['a'])).toThrow(
      'out has element type string; supported: float32, float16, int32, int64',
    );
    expect(() => readFloat32('out', 'float32', new Float32Array(2), new Float32Array(3))).toThrow(
      'out has 2 values, expected 3',
    );
  });

  it('keeps infinities when the input is infinite (only finite overflow is an error)', () => {
    const d = allocElements('float16', 1) as Uint16Array;
    castInto('x', [-Infinity], 'float16', d);
    expect(d[0]).toBe(0xfc00);
  });
});
