/**
 * The one place where values are cast to and from the element types an ONNX session declares
 * (`session.inputMetadata`): float32, float16 (IEEE 754 binary16 bits in a Uint16Array,
 * round-to-nearest-even), int32 and int64 (BigInt64Array). optimum's ORT wrapper does the same
 * (it casts every input to the declared dtype, `onnxruntime/base.py:254-285`).
 */

export const ELEMENT_TYPES = ['float32', 'float16', 'int32', 'int64'] as const;
export type ElementType = (typeof ELEMENT_TYPES)[number];
export type ElementArray = Float32Array | Uint16Array | Int32Array | BigInt64Array;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * float32 → binary16 bits with round-to-nearest-even (IEEE 754 §4.3.1). `x` is first rounded to
 * float32. Overflow gives ±Infinity (0x7c00), NaN gives a quiet NaN with the same sign, values
 * below half the smallest subnormal (2⁻²⁵) give ±0, subnormals are kept.
 */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | (mant === 0 ? 0x7c00 : 0x7e00);
  const e = exp - 127;
  if (e < -14) {
    // Half subnormal range: |x| / 2⁻²⁴ is exact in float64; round it half to even.
    const scaled = Math.abs(f32[0]) * 2 ** 24;
    const fl = Math.floor(scaled);
    const d = scaled - fl;
    const q = d > 0.5 || (d === 0.5 && (fl & 1) === 1) ? fl + 1 : fl;
    return sign | q; // q = 1024 is exactly the smallest normal, 0x0400
  }
  // Normal: keep 10 of the 23 mantissa bits, round on the 13 dropped ones. A carry out of the
  // mantissa increments the exponent, and exponent 31 is Infinity — both fall out of the sum.
  let q = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1)) q += 1;
  const h = ((e + 15) << 10) + q;
  return sign | (h >= 0x7c00 ? 0x7c00 : h);
}

/** binary16 bits → number (exact: every half value is a float32). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** A fresh array of `length` elements of `type`. */
export function allocElements(type: ElementType, length: number): ElementArray {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be an integer >= 0, got ${length}`);
  switch (type) {
    case 'float32':
      return new Float32Array(length);
    case 'float16':
      return new Uint16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
  }
  throw new RangeError(`type must be one of ${ELEMENT_TYPES.join(', ')}, got ${String(type)}`);
}

export function checkElementType(name: string, type: unknown): ElementType {
  if (typeof type !== 'string' || !(ELEMENT_TYPES as readonly string[]).includes(type)) {
    throw new TypeError(`${name} has element type ${String(type)}; supported: ${ELEMENT_TYPES.join(', ')}`);
  }
  return type as ElementType;
}

/**
 * Cast `src` into `dst` (an array of `type`) starting at `offset`. Throws a RangeError naming
 * `name` for NaN, for a finite value that overflows float16 (|x| > 65504 after rounding), and
 * for a non-integer or out-of-range value bound for int32/int64.
 */
export function castInto(name: string, src: ArrayLike<number>, type: ElementType, dst: ElementArray, offset = 0): void {
  const n = src.length;
  if (offset < 0 || offset + n > dst.length) {
    throw new RangeError(`${name}: ${n} values at offset ${offset} do not fit a buffer of ${dst.length}`);
  }
  switch (type) {
    case 'float32': {
      const d = dst as Float32Array;
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (Number.isNaN(v)) throw new RangeError(`${name} must not contain NaN (index ${i})`);
        d[offset + i] = v;
      }
      return;
    }
    case 'float16': {
      const d = dst as Uint16Array;
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (Number.isNaN(v)) throw new RangeError(`${name} must not contain NaN (index ${i})`);
        const h = float32ToFloat16Bits(v);
        if ((h & 0x7fff) === 0x7c00 && Number.isFinite(v)) {
          throw new RangeError(`${name}[${i}] = ${v} overflows float16 (finite range ±65504)`);
        }
        d[offset + i] = h;
      }
      return;
    }
    case 'int32': {
      const d = dst as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
          throw new RangeError(
            `${name}[${i}] must be an integer in [-2147483648, 2147483647] for an int32 input, got ${v}`,
          );
        }
        d[offset + i] = v;
      }
      return;
    }
    case 'int64': {
      const d = dst as BigInt64Array;
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (!Number.isSafeInteger(v))
          throw new RangeError(`${name}[${i}] must be a safe integer for an int64 input, got ${v}`);
        d[offset + i] = BigInt(v);
      }
      return;
    }
  }
  throw new RangeError(`type must be one of ${ELEMENT_TYPES.join(', ')}, got ${String(type)}`);
}

/** Fill `dst[offset, offset+count)` with one value cast to `type` (same checks as castInto). */
export function fillCast(
  name: string,
  value: number,
  type: ElementType,
  dst: ElementArray,
  offset: number,
  count: number,
): void {
  scalar[0] = value;
  castInto(name, scalar, type, dst, offset);
  const first = dst[offset];
  for (let i = 1; i < count; i++) (dst as { [k: number]: number | bigint })[offset + i] = first;
}
const scalar = new Float64Array(1);

/**
 * Read an output's data as float32 into `out` (allocated when absent). float16 is widened
 * exactly; int32/int64 are converted to numbers (int64 beyond 2⁵³ is an error).
 */
export function readFloat32(name: string, type: string, data: unknown, out?: Float32Array): Float32Array {
  const t = checkElementType(name, type);
  const src = data as ElementArray;
  const n = src.length;
  const o = out ?? new Float32Array(n);
  if (o.length !== n) throw new RangeError(`${name} has ${n} values, expected ${o.length}`);
  if (t === 'float32') {
    o.set(src as Float32Array);
  } else if (t === 'float16' && !(src instanceof Uint16Array)) {
    // a runtime with Float16Array may hand float16 outputs over as numbers, not bits
    for (let i = 0; i < n; i++) o[i] = Number(src[i]);
  } else if (t === 'float16') {
    const h = src as Uint16Array;
    for (let i = 0; i < n; i++) o[i] = float16BitsToFloat32(h[i]);
  } else if (t === 'int32') {
    o.set(src as Int32Array);
  } else {
    const b = src as BigInt64Array;
    for (let i = 0; i < n; i++) {
      const v = Number(b[i]);
      if (!Number.isSafeInteger(v)) throw new RangeError(`${name}[${i}] = ${b[i]} does not fit a safe integer`);
      o[i] = v;
    }
  }
  return o;
}

/** float32 array → float16 bits (round-to-nearest-even, IEEE overflow to ±Infinity). */
export function toFloat16Bits(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (out.length !== src.length) throw new RangeError(`out must have length ${src.length}, got ${out.length}`);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat16Bits(src[i]);
  return out;
}

/** float16 bits → float32 array. */
export function fromFloat16Bits(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  if (out.length !== src.length) throw new RangeError(`out must have length ${src.length}, got ${out.length}`);
  for (let i = 0; i < src.length; i++) out[i] = float16BitsToFloat32(src[i]);
  return out;
}
