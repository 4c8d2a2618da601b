/**
 * A PyTorch-CPU-compatible random stream: `torch.manual_seed(s); torch.randn(shape)` and
 * `torch.rand(shape)` for float32 CPU tensors, reproduced from ATen's sources:
 *
 * - Engine (`ATen/core/MT19937RNGEngine.h`): the standard 32-bit Mersenne Twister mt19937,
 *   seeded with `init_genrand` on the low 32 bits of the 64-bit seed:
 *     s[0] = seed mod 2³²,  s[i] = 1812433253·(s[i−1] ⊕ (s[i−1] ≫ 30)) + i  (mod 2³²).
 * - `random()` is one 32-bit output; `random64()` is (first ≪ 32) | second
 *   (`CPUGeneratorImpl::random64`, `detail::make64BitsFrom32Bits(hi, lo)`).
 * - `at::uniform_real_distribution<T>` (`ATen/core/DistributionsHelper.h`,
 *   `TransformationHelper.h: uniform_real`): float uses `random()`, double uses `random64()`;
 *   u = (v & (2^digits − 1)) · 2^−digits with digits = 24 (float) or 53 (double), so u ∈ [0, 1).
 * - `torch.rand` (`native/cpu/DistributionTemplates.h: uniform_kernel`): one float uniform per
 *   element, in order.
 * - `torch.randn`, float32, contiguous (`normal_kernel`):
 *   * n ≥ 16 (`normal_fill`): all n slots get float uniforms first; then every full block of 16
 *     is transformed by `normal_fill_16`: for j = 0..7, u1 = 1 − d[j], u2 = d[j+8],
 *     r = √(−2 ln u1), θ = 2π·u2, d[j] = r cos θ, d[j+8] = r sin θ. If n mod 16 ≠ 0, 16 fresh
 *     uniforms overwrite the last 16 slots, which are transformed once more.
 *   * n < 16: each element is `at::normal_distribution<double>`: with the generator's cached
 *     double sample if present, otherwise u1, u2 (double uniforms), r = √(−2·log1p(−u2)),
 *     θ = 2π·u1, cache r sin θ, return r cos θ; the value is cast to float32.
 * - `manual_seed` clears both cached normal samples (`CPUGeneratorImpl::set_current_seed`).
 *
 * The scalar `normal_fill_16` computes in float32 (float log/sqrt/cos/sin, θ formed in double
 * and rounded to float); the AVX2 build uses vectorized float log/sincos. This module evaluates
 * each function in float64 and rounds to float32 at the same points as the scalar C++ code, so
 * values agree with PyTorch to a few float32 ulp (≈1e-6 absolute for |x| < 5), not bit for bit.
 *
 * Seeds: like `torch.manual_seed`, any integer in [−2⁶³, 2⁶⁴ − 1]; a negative seed is taken as
 * its 64-bit two's complement (`unpack_uint64` in `torch/csrc/Generator.cpp`). Only the low
 * 32 bits reach mt19937.
 */
import { checkInt, describe } from './validate.ts';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TWO_PI = 2 * Math.PI;
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 2 ** 32;

/** The seed `torch.Generator()` starts with (`default_rng_seed_val` in `c10/core/GeneratorImpl.h`). */
export const TORCH_DEFAULT_SEED = 67280421310721n;

/** Largest number of elements one call may produce (a Float32Array limit we keep well inside). */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** A standard mt19937 engine (Matsumoto & Nishimura 1998, `init_genrand` + `genrand_int32`). */
export interface MT19937 {
  /** Next 32-bit output as an unsigned integer in [0, 2³² − 1]. */
  next(): number;
}

/** mt19937 seeded with `init_genrand(seed32)`; seed32 must be an integer in [0, 2³² − 1]. */
export function mt19937(seed32: number): MT19937 {
  checkInt('seed32', seed32, 0, 0xffffffff);
  const mt = new Uint32Array(N);
  mt[0] = seed32;
  for (let i = 1; i < N; i++) {
    const p = mt[i - 1];
    mt[i] = (Math.imul(1812433253, (p ^ (p >>> 30)) >>> 0) + i) >>> 0;
  }
  let index = N; // forces a twist before the first output, as genrand_int32 does

  function twist(): void {
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    index = 0;
  }

  return {
    next(): number {
      if (index >= N) twist();
      let y = mt[index++];
      // Tempering.
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y >>> 0;
    },
  };
}

export interface TorchGenerator {
  /** `generator.manual_seed(seed)`: reseeds the engine and clears the cached normal sample. */
  manualSeed(seed: number | bigint): void;
  /** `torch.rand(n, generator=g)` (float32). */
  rand(n: number): Float32Array;
  /** `torch.randn(n, generator=g)` (float32, contiguous). */
  randn(n: number): Float32Array;
}

/** Reduces a torch seed to the 32 bits mt19937 uses, validating the torch seed range. */
function seedLow32(seed: unknown): number {
  if (typeof seed === 'bigint') {
    if (seed < -(2n ** 63n) || seed > 2n ** 64n - 1n) {
      throw new RangeError(`seed must be an integer in [-2^63, 2^64-1], got ${seed}`);
    }
    return Number(BigInt.asUintN(32, seed));
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new TypeError(`seed must be an integer (number or bigint) in [-2^63, 2^64-1], got ${describe(seed)}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(
      `seed must be a safe integer number in [-(2^53-1), 2^53-1] (pass a bigint for larger seeds), got ${seed}`,
    );
  }
  // Two's complement low word; exact because |seed| < 2^53.
  const r = seed % TWO_POW_32;
  return r < 0 ? r + TWO_POW_32 : r;
}

function checkCount(name: string, n: unknown): number {
  return checkInt(name, n, 0, MAX_ELEMENTS);
}

/**
 * A generator with PyTorch's CPU semantics. `seed` defaults to torch's default generator seed
 * 67280421310721 (what `torch.Generator()` starts with).
 */
export function torchGenerator(seed: number | bigint = TORCH_DEFAULT_SEED): TorchGenerator {
  return new TorchCpuGenerator(seed);
}

/** The engine and the cached sine half of `normal_distribution<double>`, as torch's CPU generator keeps them. */
class TorchCpuGenerator implements TorchGenerator {
  #engine: MT19937;
  #cachedNormal = 0;
  #hasCachedNormal = false;

  constructor(seed: number | bigint) {
    this.#engine = mt19937(seedLow32(seed));
  }

  /** uniform_real_distribution<float>(0, 1). */
  #floatUniform(): number {
    return (this.#engine.next() & 0xffffff) * TWO_POW_M24;
  }

  /** uniform_real_distribution<double>(0, 1) on random64(): low 53 bits of (hi ≪ 32 | lo). */
  #doubleUniform(): number {
    const hi = this.#engine.next();
    const lo = this.#engine.next();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /** normal_distribution<double>(0, 1) with the generator's cached sine half. */
  #doubleNormal(): number {
    if (this.#hasCachedNormal) {
      this.#hasCachedNormal = false;
      return this.#cachedNormal;
    }
    const u1 = this.#doubleUniform();
    const u2 = this.#doubleUniform();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = TWO_PI * u1;
    this.#cachedNormal = r * Math.sin(theta);
    this.#hasCachedNormal = true;
    return r * Math.cos(theta);
  }

  manualSeed(s: number | bigint): void {
    this.#engine = mt19937(seedLow32(s));
    this.#hasCachedNormal = false;
  }

  rand(n: number): Float32Array {
    checkCount('n', n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#floatUniform();
    return out;
  }

  randn(n: number): Float32Array {
    checkCount('n', n);
    const out = new Float32Array(n);
    if (n < 16) {
      for (let i = 0; i < n; i++) out[i] = this.#doubleNormal();
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = this.#floatUniform();
    for (let i = 0; i + 16 <= n; i += 16) fill16(out, i);
    if (n % 16 !== 0) {
      const at = n - 16;
      for (let i = 0; i < 16; i++) out[at + i] = this.#floatUniform();
      fill16(out, at);
    }
    return out;
  }
}

/** normal_fill_16 on d[at .. at+16), float32 arithmetic emulated by rounding where C++ does. */
function fill16(d: Float32Array, at: number): void {
  const f = Math.fround;
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[at + j]);
    const u2 = d[at + j + 8];
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(TWO_PI * u2);
    d[at + j] = radius * f(Math.cos(theta));
    d[at + j + 8] = radius * f(Math.sin(theta));
  }
}

/** Number of elements of a shape; every dimension an integer ≥ 0. */
function shapeSize(shape: unknown): number {
  if (!Array.isArray(shape)) throw new TypeError(`shape must be an array of integers >= 0, got ${describe(shape)}`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    n *= checkInt(`shape[${i}]`, shape[i], 0, MAX_ELEMENTS);
    if (n > MAX_ELEMENTS) {
      throw new RangeError(`shape must have at most ${MAX_ELEMENTS} elements in total, got more at shape[${i}]`);
    }
  }
  return n;
}

/** `torch.manual_seed(seed); torch.randn(shape)` on CPU, float32, flattened row-major. */
export function torchRandn(seed: number | bigint, shape: readonly number[]): Float32Array {
  const n = shapeSize(shape);
  return torchGenerator(seed).randn(n);
}

/** `torch.manual_seed(seed); torch.rand(shape)` on CPU, float32, flattened row-major. */
export function torchRand(seed: number | bigint, shape: readonly number[]): Float32Array {
  const n = shapeSize(shape);
  return torchGenerator(seed).rand(n);
}
