/**
 * Small per-sample kernels over flat Float32Arrays. A batch tensor holds B samples of `dim`
 * elements back to back; sample b occupies [b·dim, (b+1)·dim). Reductions accumulate in float64.
 */
import { checkInt } from './validate.ts';

/** ⟨a, b⟩ over one sample block, float64. */
export function dotAt(a: Float32Array, b: Float32Array, offset: number, dim: number): number {
  let s = 0;
  const end = offset + dim;
  for (let i = offset; i < end; i++) s += a[i] * b[i];
  return s;
}

/** ‖a‖² over one sample block, float64. */
export function sqNormAt(a: Float32Array, offset: number, dim: number): number {
  let s = 0;
  const end = offset + dim;
  for (let i = offset; i < end; i++) s += a[i] * a[i];
  return s;
}

/** ‖a − b‖ over one sample block, float64. */
export function distAt(a: Float32Array, b: Float32Array, offset: number, dim: number): number {
  let s = 0;
  const end = offset + dim;
  for (let i = offset; i < end; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Per-sample L2 norms of a batch tensor. */
export function sampleNorms(x: Float32Array, dim: number, out?: Float64Array): Float64Array {
  const batch = batchOf('x', x, dim);
  const res = out ?? new Float64Array(batch);
  for (let b = 0; b < batch; b++) res[b] = Math.sqrt(sqNormAt(x, b * dim, dim));
  return res;
}

/** Per-sample angle (radians, in [0, π]) between a and b; NaN-free: 0 when either is zero. */
export function sampleAngles(a: Float32Array, b: Float32Array, dim: number, out?: Float64Array): Float64Array {
  const batch = batchOf('a', a, dim);
  if (b.length !== a.length) throw new RangeError(`b must have the length of a (${a.length}), got ${b.length}`);
  const res = out ?? new Float64Array(batch);
  for (let s = 0; s < batch; s++) res[s] = angleAt(a, b, s * dim, dim);
  return res;
}

/**
 * The angle between two sample blocks: θ = arccos(⟨â, b̂⟩), computed as 2·atan2(‖â − b̂‖, ‖â + b̂‖),
 * which is accurate near 0 and π where acos of the normalized dot product loses half its digits.
 * 0 when either block is zero.
 */
export function angleAt(a: Float32Array, b: Float32Array, offset: number, dim: number): number {
  const na = Math.sqrt(sqNormAt(a, offset, dim));
  const nb = Math.sqrt(sqNormAt(b, offset, dim));
  if (na === 0 || nb === 0) return 0;
  const ia = 1 / na,
    ib = 1 / nb;
  let dm = 0,
    dp = 0;
  for (let i = offset, end = offset + dim; i < end; i++) {
    const u = a[i] * ia,
      v = b[i] * ib;
    dm += (u - v) * (u - v);
    dp += (u + v) * (u + v);
  }
  return 2 * Math.atan2(Math.sqrt(dm), Math.sqrt(dp));
}

/** Rounding can push a normalized dot product just past ±1; acos needs it inside. */
export function clampUnit(c: number): number {
  return c > 1 ? 1 : c < -1 ? -1 : c;
}

/** Number of samples in a batch tensor; throws when the length is not a multiple of dim. */
export function batchOf(name: string, x: Float32Array, dim: number): number {
  checkInt('dim', dim, 1);
  if (!(x instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
  if (x.length === 0 || x.length % dim !== 0) {
    throw new RangeError(`${name} must hold a whole number (≥ 1) of samples of dim ${dim}, got length ${x.length}`);
  }
  return x.length / dim;
}

/** Index of the first non-finite value, or −1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}
