/**
 * Seeded Gaussian random numbers for the core, bit-identical across JavaScript engines.
 *
 * Algorithm
 * - Generator: xoshiro128** (Blackman & Vigna 2018), 128-bit state in four 32-bit words,
 *   period 2¹²⁸ − 1; output rotl(s1·5, 7)·9. Only 32-bit integer operations are used
 *   (`Math.imul`, shifts, `>>> 0`), so every engine produces the same integers.
 * - Seeding: the 96-bit input (seed mod 2³², ⌊seed / 2³²⌋, stream) is laid into the state as
 *   (lo, hi, stream, 0x9E3779B9) and scrambled by four rounds of
 *   sᵢ ← fmix32(sᵢ ⊕ rotl(s₍ᵢ₋₁₎ mod 4, 7)), i = 0..3, where fmix32 is MurmurHash3's 32-bit
 *   finalizer. Each step is a bijection of the 128-bit state, so distinct (seed, stream) pairs
 *   always start from distinct states, and after four rounds every input bit reaches every
 *   state bit; streams of one seed are thereby far-apart, unrelated points of the period.
 *   (The all-zero state, which xoshiro cannot leave, is mapped to a fixed nonzero state.)
 * - Uniforms: u = ((a ≫ 5)·2²⁶ + (b ≫ 6)) · 2⁻⁵³ from two consecutive outputs a, b — a 53-bit
 *   float64 in [0, 1) (the `genrand_res53` construction). `fillUniform` truncates u toward zero
 *   to float32 (round-to-nearest could turn 1 − 2⁻⁵³ into 1), so float32 uniforms stay in [0, 1).
 * - Normals: Box–Muller in float64 (Box & Muller 1958): u₁ ∈ (0, 1) (a draw of exactly 0 is
 *   rejected and redrawn), u₂ ∈ [0, 1), r = √(−2 ln u₁), θ = 2π u₂; r cos θ is returned and
 *   r sin θ is kept for the next call, so both halves are used.
 *
 * Cross-engine note: the integer stream and the uniforms are exact everywhere. The normals go
 * through log, cos, sin and √; ECMAScript does not require correctly rounded log/cos/sin, and
 * engines differ in the last float64 bit: Node 20's V8 implements Math.log/cos/sin with a port of
 * fdlibm, while Deno 2.9's V8 uses correctly rounded versions (about 7 % of logs and 3 % of
 * sines and cosines differ by one ulp). So the normals are computed by `wasm/normal.ts`
 * (WebAssembly, src/core/wasm-normal.ts), whose log, sin and cos port fdlibm operation for
 * operation: every runtime with WebAssembly SIMD gets the bits of Node 20's Math functions, which
 * produced every committed seeded result. It also takes the logs, sines and cosines two lanes at
 * a time: fillNormal runs 2.6–3.9× faster than the JS loop below (BENCHMARKS.md, "Initial
 * noise"). Where WebAssembly SIMD is missing, the JS loop runs with the engine's Math functions
 * (the same bits under Node 20). The path does not follow the kernel backend (AMDM_BACKEND):
 * both paths give the same bits under Node 20, and only the WebAssembly one gives them in other
 * engines.
 */
import { checkInt, checkFloat32, checkNumber } from './validate.ts';
import { wasmNormals } from './wasm-normal.ts';

export interface GaussianRng {
  readonly seed: number;
  readonly stream: number;
  /** Uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Standard normal float64. */
  normal(): number;
  /**
   * out[offset .. offset+length) = std · (successive normal() values), rounded to float32;
   * nothing else is touched and nothing is allocated. Returns `out`.
   */
  fillNormal(out: Float32Array, offset?: number, length?: number, std?: number): Float32Array;
  /** out[offset .. offset+length) = successive uniform() values, truncated to float32 (stays in [0, 1)). */
  fillUniform(out: Float32Array, offset?: number, length?: number): Float32Array;
}

const TWO_PI = 2 * Math.PI;
const TWO_POW_26 = 2 ** 26;
const TWO_POW_32 = 2 ** 32;
const TWO_POW_M53 = 2 ** -53;

/** MurmurHash3 fmix32: a bijection on 32-bit words with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The xoshiro128** start state for (seed, stream); see the header. */
function seedState(seed: number, stream: number): Uint32Array {
  const s = new Uint32Array(4);
  s[0] = seed % TWO_POW_32;
  s[1] = Math.floor(seed / TWO_POW_32);
  s[2] = stream;
  s[3] = 0x9e3779b9;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 4; i++) s[i] = fmix32(s[i] ^ rotl(s[(i + 3) & 3], 7));
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/**
 * One xoshiro128** step on the state words st[0..3] (updated in place); returns the output as
 * an unsigned 32-bit integer. Exported for reference checks against the published generator.
 */
export function xoshiro128ssNext(st: Int32Array): number {
  let s0 = st[0];
  let s1 = st[1];
  let s2 = st[2];
  let s3 = st[3];
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9);
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >>> 21);
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
  return result >>> 0;
}

/** Checks (offset, length) against an array length; returns the resolved length. */
function sliceLength(out: Float32Array, offset: unknown, length: unknown): number {
  checkInt('offset', offset, 0, out.length);
  const off = offset as number;
  if (length === undefined) return out.length - off;
  return checkInt('length', length, 0, out.length - off);
}

/**
 * A seeded Gaussian generator. `seed`: integer in [0, 2⁵³ − 1]; `stream`: integer in
 * [0, 2³² − 1] (default 0). Different streams of one seed are independent sequences.
 */
// Over 60 lines: one closure over the generator's state, whose fillNormal inlines the generator (below).
export function gaussianRng(seed: number, stream = 0): GaussianRng {
  checkInt('seed', seed, 0, Number.MAX_SAFE_INTEGER);
  checkInt('stream', stream, 0, 0xffffffff);
  // xoshiro128** state, as signed 32-bit words (the bit patterns are what matter).
  const st = new Int32Array(seedState(seed, stream).buffer);
  let spare = 0;
  let hasSpare = false;

  function uniform(): number {
    const a = xoshiro128ssNext(st) >>> 5;
    const b = xoshiro128ssNext(st) >>> 6;
    return (a * TWO_POW_26 + b) * TWO_POW_M53;
  }

  function normal(): number {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u1 = uniform();
    while (u1 === 0) u1 = uniform();
    const u2 = uniform();
    const w = wasmNormals();
    if (w !== null) {
      const c = w.k.boxMuller(u1, u2);
      spare = w.spare;
      hasSpare = true;
      return c;
    }
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * u2;
    spare = r * Math.sin(theta);
    hasSpare = true;
    return r * Math.cos(theta);
  }

  return {
    seed,
    stream,
    uniform,
    normal,
    // Over 60 lines: the generator step is inlined four times on local words, the hot loop of every noise draw.
    fillNormal(out: Float32Array, offset = 0, length?: number, std = 1): Float32Array {
      checkFloat32('out', out);
      const n = sliceLength(out, offset, length);
      checkNumber('std', std, 0, Number.MAX_VALUE);
      const end = offset + n;
      let i = offset;
      if (i < end && hasSpare) {
        out[i++] = std * spare;
        hasSpare = false;
      }
      const w = wasmNormals();
      if (w !== null) {
        if (i < end && w.fill(st, out, i, end - i, std)) {
          spare = w.spare;
          hasSpare = true;
        }
        return out;
      }
      // The same stream as repeated normal() calls, with xoshiro128ssNext/uniform inlined on local state
      // words (about twice as fast as calling them). The four copies of the generator step below are
      // deliberate: this is the hot loop of every initial latent and DDIM noise draw, and a helper
      // would have to keep the state in the array (or return it) and lose that speed.
      let s0 = st[0];
      let s1 = st[1];
      let s2 = st[2];
      let s3 = st[3];
      let m = 0;
      let t = 0;
      let a = 0;
      let b = 0;
      while (i < end) {
        let u1 = 0;
        do {
          m = Math.imul(s1, 5);
          a = Math.imul((m << 7) | (m >>> 25), 9) >>> 5;
          t = s1 << 9;
          s2 ^= s0;
          s3 ^= s1;
          s1 ^= s2;
          s0 ^= s3;
          s2 ^= t;
          s3 = (s3 << 11) | (s3 >>> 21);
          m = Math.imul(s1, 5);
          b = Math.imul((m << 7) | (m >>> 25), 9) >>> 6;
          t = s1 << 9;
          s2 ^= s0;
          s3 ^= s1;
          s1 ^= s2;
          s0 ^= s3;
          s2 ^= t;
          s3 = (s3 << 11) | (s3 >>> 21);
          u1 = (a * TWO_POW_26 + b) * TWO_POW_M53;
        } while (u1 === 0);
        m = Math.imul(s1, 5);
        a = Math.imul((m << 7) | (m >>> 25), 9) >>> 5;
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        m = Math.imul(s1, 5);
        b = Math.imul((m << 7) | (m >>> 25), 9) >>> 6;
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const u2 = (a * TWO_POW_26 + b) * TWO_POW_M53;
        const r = Math.sqrt(-2 * Math.log(u1));
        const theta = TWO_PI * u2;
        out[i++] = std * (r * Math.cos(theta));
        const sine = r * Math.sin(theta);
        if (i < end) {
          out[i++] = std * sine;
        } else {
          spare = sine;
          hasSpare = true;
        }
      }
      st[0] = s0;
      st[1] = s1;
      st[2] = s2;
      st[3] = s3;
      return out;
    },
    fillUniform(out: Float32Array, offset = 0, length?: number): Float32Array {
      checkFloat32('out', out);
      const n = sliceLength(out, offset, length);
      const end = offset + n;
      for (let i = offset; i < end; i++) out[i] = toFloat32Down(uniform());
      return out;
    },
  };
}

const scratch = new ArrayBuffer(4);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);

/** A float64 u ≥ 0 rounded toward zero to float32 (one step down when nearest rounded up). */
function toFloat32Down(u: number): number {
  scratchF32[0] = u;
  if (scratchF32[0] > u) scratchU32[0] -= 1;
  return scratchF32[0];
}

/** n standard normals from gaussianRng(seed, stream), as float32. */
export function randn(seed: number, n: number, stream = 0): Float32Array {
  checkInt('n', n, 0, 2 ** 31 - 1);
  return gaussianRng(seed, stream).fillNormal(new Float32Array(n));
}
