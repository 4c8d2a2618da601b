// The core's seeded normal stream in WebAssembly (AssemblyScript): xoshiro128** and Box–Muller
// exactly as src/core/rng.ts computes them, with ports of fdlibm's log, sin and cos, so every
// runtime gets the float64 bits that V8's fdlibm port (src/base/ieee754.cc, Node 20) gives.
// `npm run build:wasm` compiles this file into src/core/wasm-normal-module.ts (base64), which
// src/core/wasm-normal.ts instantiates; test/core/wasm-build.test.ts checks that the committed
// bytes match this source.
//
// Memory (imported, one page): the generator's state words at STATE (4 × i32), the float64 left
// over by `fill` / `boxMuller` at SPARE, sin x after `cosSin` at AUX, float32 output from OUT on,
// a block's float64 arrays after it, the constants from 57344 on (static data).
//
// fdlibm (Sun Microsystems 1993; the versions below are those of FreeBSD msun, which V8 ports):
// the constants carry their intended bit patterns in comments; every operation is an IEEE
// float64 +, −, ×, ÷ or √ in the order of the C source, so the results are the same bits. Where
// the code takes another path through the C source's branches, a comment shows that the
// operations, and so the bits, are the same.

const STATE: usize = 0;
const SPARE: usize = 16;
const AUX: usize = 24;
const OUT: usize = 64;
/** Values per `fill` call (src/core/wasm-normal.ts uses the same number). */
const CHUNK: i32 = 8192;
/** Pairs per block: `fill` draws a block's uniforms, then takes its logs, then its sines and cosines. */
const BLOCK: i32 = 512;
// A block's float64 arrays (one padding lane each): u₁, u₂, ln u₁, r·cos θ, r·sin θ. The last
// three are kept only for scripts/check-normal-bits.ts, which compares them with Math's.
const U1: usize = OUT + 4 * (<usize>CHUNK + 4);
const U2: usize = U1 + 8 * (<usize>BLOCK + 2);
const LOG: usize = U2 + 8 * (<usize>BLOCK + 2);
const RC: usize = LOG + 8 * (<usize>BLOCK + 2);
const RS: usize = RC + 8 * (<usize>BLOCK + 2); // ends at 53408, below the constants (57344)

// ---- log: fdlibm e_log.c (__ieee754_log) ------------------------------------------------------
//
// x = 2^k·(1+f) with √2/2 < 1+f < √2; s = f/(2+f); log(1+f) = f − s·(f − R(s²)) (or the
// hfsq form), R a degree-14 Remez polynomial; log x = k·ln2_hi + (log(1+f) + k·ln2_lo).
// Domain here: finite x ≥ 2^-1022 (the uniforms are ≥ 2^-53); the zero, negative, subnormal,
// ∞ and NaN branches of the C function are left out.

const LN2_HI: f64 = 6.93147180369123816490e-1; // 3fe62e42 fee00000
const LN2_LO: f64 = 1.90821492927058770002e-10; // 3dea39ef 35793c76
const LG1: f64 = 6.666666666666735130e-1; // 3FE55555 55555593
const LG2: f64 = 3.999999999940941908e-1; // 3FD99999 9997FA04
const LG3: f64 = 2.857142874366239149e-1; // 3FD24924 94229359
const LG4: f64 = 2.222219843214978396e-1; // 3FCC71C5 1D8E78AF
const LG5: f64 = 1.818357216161805012e-1; // 3FC74664 96CB03DE
const LG6: f64 = 1.531383769920937332e-1; // 3FC39A09 D078C69F
const LG7: f64 = 1.479819860511658591e-1; // 3FC2F112 DF3E5244

/**
 * fdlibm log(x) for finite x ≥ 2^-1022. The C source returns k = 0 and f = 0 results by shorter
 * formulas; the general k·ln2 forms below give the same bits there (with dk = 0 the terms dk·ln2
 * are +0 and change nothing, and 0 − (U − f) = f − U exactly: round to nearest is symmetric, and
 * when U = f both are +0; with f = 0, k·ln2_hi − ((0 − k·ln2_lo) − 0) = k·ln2_hi + k·ln2_lo).
 */
export function log(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let hx = <i32>(bits >>> 32);
  let k = (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = reinterpret<f64>((<u64>(hx | (i ^ 0x3ff00000)) << 32) | (bits & 0xffffffff)); // normalize x or x/2
  k += i >> 20;
  const f = x - 1.0;
  const dk = <f64>k;
  const kh = dk * LN2_HI;
  const kl = dk * LN2_LO;
  if ((0x000fffff & (2 + hx)) < 3) {
    // −2^-20 ≤ f < 2^-20
    return kh - ((f * f * (0.5 - 0.33333333333333333 * f) - kl) - f);
  }
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const R = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const hfsq = 0.5 * f * f;
    return kh - ((hfsq - (s * (hfsq + R) + kl)) - f);
  }
  return kh - ((s * (f - R) - kl) - f);
}

// ---- sin, cos: fdlibm s_sin.c / s_cos.c with k_sin.c, k_cos.c and e_rem_pio2.c --------------

const C1: f64 = 4.16666666666666019037e-2; // 3FA55555 5555554C
const C2: f64 = -1.38888888888741095749e-3; // BF56C16C 16C15177
const C3: f64 = 2.48015872894767294178e-5; // 3EFA01A0 19CB1590
const C4: f64 = -2.75573143513906633035e-7; // BE927E4F 809C52AD
const C5: f64 = 2.08757232129817482790e-9; // 3E21EE9E BDB4B1C4
const C6: f64 = -1.13596475577881948265e-11; // BDA8FAE9 BE8838D4
const S1: f64 = -1.66666666666666324348e-1; // BFC55555 55555549
const S2: f64 = 8.33333333332248946124e-3; // 3F811111 1110F8A6
const S3: f64 = -1.98412698298579493134e-4; // BF2A01A0 19C161D5
const S4: f64 = 2.75573137070700676789e-6; // 3EC71DE3 57B1FE7D
const S5: f64 = -2.50507602534068634195e-8; // BE5AE5E6 8A2B9CEB
const S6: f64 = 1.58969099521155010221e-10; // 3DE5D93A 5ACFD57C
const INVPIO2: f64 = 6.36619772367581382433e-1; // 3FE45F30 6DC9C883
const PIO2_1: f64 = 1.57079632673412561417e0; // 3FF921FB 54400000: first 33 bits of π/2
const PIO2_1T: f64 = 6.07710050650619224932e-11; // 3DD0B461 1A626331: π/2 − PIO2_1
const TWO_PI: f64 = 6.283185307179586; // 401921FB 54442D18: 2·Math.PI, as rng.ts

/** fdlibm __kernel_cos(x, y) on [−π/4, π/4], y the tail of x (the version with qx). */
function kcos(x: f64, y: f64): f64 {
  const ix = <i32>(reinterpret<u64>(x) >>> 32) & 0x7fffffff;
  if (ix < 0x3e400000) return 1.0; // |x| < 2^-27: (int)x == 0
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1.0 - (0.5 * z - (z * r - x * y)); // |x| < 0.3
  const qx = ix > 0x3fe90000 ? 0.28125 : reinterpret<f64>(<u64>(ix - 0x00200000) << 32); // x/4
  const iz = 0.5 * z - qx;
  const a = 1.0 - qx;
  return a - (iz - (z * r - x * y));
}

/** fdlibm __kernel_sin(x, y, iy) on [−π/4, π/4]; iy = 0 when y is known to be 0. */
function ksin(x: f64, y: f64, iy: i32): f64 {
  const ix = <i32>(reinterpret<u64>(x) >>> 32) & 0x7fffffff;
  if (ix < 0x3e400000) return x; // |x| < 2^-27: (int)x == 0
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (iy == 0) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

let y0: f64 = 0;
let y1: f64 = 0;

/**
 * fdlibm __ieee754_rem_pio2 for π/4 < x < 2π (x ≥ 0): x − n·π/2 = y0 + y1 with |y0| ≤ π/4;
 * returns n. The C source treats |x| < 3π/4 apart (n = 1): there its arithmetic is the medium
 * path's with fn = 1 (fn·PIO2_1 = PIO2_1 and fn·PIO2_1T = PIO2_1T exactly, and the medium path's
 * n is 1 on that range), except when x's high word is π/2's, which keeps its own branch. The
 * medium path's second and third rounds (x's high word is that of n·π/2) follow the C source;
 * the negative and large-argument paths are left out.
 */
function remPio2(x: f64, ix: i32): i32 {
  if (ix == 0x3ff921fb) {
    // near π/2: 33 + 33 + 53 bits of π/2
    const z = x - PIO2_1 - 6.07710050630396597660e-11; // pio2_2 3DD0B461 1A600000
    const pio2_2t = 2.02226624879595063154e-21; // 3BA3198A 2E037073
    y0 = z - pio2_2t;
    y1 = (z - y0) - pio2_2t;
    return 1;
  }
  const n = <i32>(x * INVPIO2 + 0.5);
  const fn = <f64>n;
  const fp = fn * PIO2_1; // exact (PIO2_1 has 33 bits, n ≤ 4); its high word is npio2_hw[n−1]
  let r = x - fp;
  let w = fn * PIO2_1T; // first round good to 85 bits
  y0 = r - w;
  if (ix == <i32>(reinterpret<u64>(fp) >>> 32)) {
    const j = ix >> 20;
    let i = j - (<i32>(reinterpret<u64>(y0) >>> 52) & 0x7ff);
    if (i > 16) {
      // second round, good to 118 bits
      let t = r;
      w = fn * 6.07710050630396597660e-11; // pio2_2
      r = t - w;
      w = fn * 2.02226624879595063154e-21 - ((t - r) - w); // pio2_2t
      y0 = r - w;
      i = j - (<i32>(reinterpret<u64>(y0) >>> 52) & 0x7ff);
      if (i > 49) {
        // third round, 151 bits
        t = r;
        w = fn * 2.02226624871116645580e-21; // pio2_3 3BA3198A 2E000000
        r = t - w;
        w = fn * 8.47842766036889956997e-32 - ((t - r) - w); // pio2_3t 397B839A 252049C1
        y0 = r - w;
      }
    }
  }
  y1 = (r - y0) - w;
  return n;
}

/** fdlibm cos(x) for 0 ≤ x < 2π; sin(x) is left at AUX (one argument reduction serves both). */
export function cosSin(x: f64): f64 {
  const ix = <i32>(reinterpret<u64>(x) >>> 32) & 0x7fffffff;
  let n = 0;
  let iy = 0;
  if (ix <= 0x3fe921fb) {
    // |x| ≤ π/4: cos → __kernel_cos(x, 0), sin → __kernel_sin(x, 0, 0)
    y0 = x;
    y1 = 0;
  } else {
    n = remPio2(x, ix) & 3;
    iy = 1;
  }
  const c = kcos(y0, y1);
  const s = ksin(y0, y1, iy);
  store<f64>(AUX, n == 0 ? s : n == 1 ? c : n == 2 ? -s : -c);
  return n == 0 ? c : n == 1 ? -s : n == 2 ? -c : s;
}

// ---- the same functions on two lanes (f64x2), without branches ------------------------------
//
// `radii` and `angles` run log and cos/sin over a block, two lanes at a time. Each lane computes
// every branch of the scalar code that can occur and keeps, by v128.bitselect, the one the scalar
// code takes, so a lane's result is the scalar result bit for bit. Branches that occur with
// probability below 2^-19 per value (log's |f| < 2^-20; |y0| < 2^-27 in the trig kernels; an
// argument whose high word is that of n·π/2, where rem_pio2 needs more rounds) are not computed:
// the functions report them, and the block is then redone with the scalar functions.
//
// Integer work is done on the high words: hi(v) holds them in i32 lanes 0, 1 (copied to 2, 3).

@inline function hi(v: v128): v128 { return v128.shuffle<i32>(v, v, 1, 3, 1, 3); }
/** An i32x4 mask in lanes 0, 1 widened to the two 64-bit lanes. */
@inline function wide(m: v128): v128 { return v128.shuffle<i32>(m, m, 0, 0, 1, 1); }
@inline function sp(x: f64): v128 { return f64x2.splat(x); }
@inline function ip(x: i32): v128 { return i32x4.splat(x); }

// The constants of the loops, splat from static data (placed at 57344 by --memoryBase, after the
// arrays): a v128.const takes 18 bytes of code and, in V8, several instructions per use; a
// load-splat one.
const KF = memory.data<f64>([
  LN2_HI, LN2_LO, LG1, LG2, LG3, LG4, LG5, LG6, LG7, C1, C2, C3, C4, C5, C6, S1, S2, S3, S4, S5, S6,
  INVPIO2, PIO2_1, PIO2_1T, TWO_PI, 0.5, 1.0, 2.0, 3.0, -2.0, 0.28125, -0.0, 0.25,
  0.7853984832763672, // 3FE921FC 00000000
  0.7812504768371582, // 3FE90001 00000000
  0.2999999523162842, // 3FD33333 00000000
  7.450580596923828e-9, // 3E400000 00000000 = 2^-27
]);
/** Positions in KF (the same order). */
const enum K {
  LN2_HI, LN2_LO, LG1, LG2, LG3, LG4, LG5, LG6, LG7, C1, C2, C3, C4, C5, C6, S1, S2, S3, S4, S5, S6,
  INVPIO2, PIO2_1, PIO2_1T, TWO_PI, HALF, ONE, TWO, THREE, MINUS_TWO, QX_MAX, SIGN, QUARTER,
  PIO4_UP, Y_078, Y_03, Y_TINY,
}
const KI = memory.data<i32>([0x000fffff, 0x95f64, 0x100000, 0x3ff00000, 1023, 2, 3, 0x6147a, 0x6b851, 0, -1]);
/** Positions in KI (the same order); the last two, read as one float64 pattern, are HIGH_WORD. */
const enum I { MANT, NORM, EXP1, HI_ONE, BIAS, I2, I3, LO_EDGE, HI_EDGE, HIGH_WORD_LO }
/** The float64 pattern FFFFFFFF 00000000, splat: keeps the high words. */
const HIGH_WORD: usize = KI + (<usize>I.HIGH_WORD_LO << 2);
@inline function kf(k: K): v128 { return v128.load64_splat(KF + (<usize>k << 3)); }
@inline function ki(k: I): v128 { return v128.load32_splat(KI + (<usize>k << 2)); }
/** c + z·p on two lanes (one Horner step), c from KF. */
@inline function hs(c: K, z: v128, p: v128): v128 { return f64x2.add(kf(c), f64x2.mul(z, p)); }

/** LOG[p] = log U1[p] for p < m (m even); true when a rare branch came up. */
function radii(m: i32): bool {
  let rare = ip(0);
  for (let p = 0; p < m; p += 2) {
    const o = <usize>p << 3;
    const x = v128.load(U1 + o);
    const hx = hi(x);
    const hm = v128.and(hx, ki(I.MANT));
    const i = v128.and(i32x4.add(hm, ki(I.NORM)), ki(I.EXP1));
    const xn = v128.shuffle<i32>(x, v128.or(hm, v128.xor(i, ki(I.HI_ONE))), 0, 4, 2, 5); // x or x/2 in [√2/2, √2)
    const k = i32x4.add(i32x4.sub(i32x4.shr_s(hx, 20), ki(I.BIAS)), i32x4.shr_u(i, 20));
    rare = v128.or(rare, i32x4.lt_s(v128.and(i32x4.add(hm, ki(I.I2)), ki(I.MANT)), ki(I.I3)));
    const f = f64x2.sub(xn, kf(K.ONE));
    const dk = f64x2.convert_low_i32x4_s(k);
    const s = f64x2.div(f, f64x2.add(kf(K.TWO), f));
    const z = f64x2.mul(s, s);
    const w = f64x2.mul(z, z);
    const t1 = f64x2.mul(w, hs(K.LG2, w, hs(K.LG4, w, kf(K.LG6))));
    const t2 = f64x2.mul(z, hs(K.LG1, w, hs(K.LG3, w, hs(K.LG5, w, kf(K.LG7)))));
    const R = f64x2.add(t2, t1);
    const pos = wide(i32x4.gt_s(v128.or(i32x4.sub(hm, ki(I.LO_EDGE)), i32x4.sub(ki(I.HI_EDGE), hm)), ip(0)));
    // The k ≠ 0 forms also give the k = 0 results bit for bit: with dk = 0 the terms dk·ln2 are
    // +0, adding or subtracting them changes nothing, and 0 − (U − f) = f − U exactly (round to
    // nearest is symmetric; when U = f both are +0). So no select on k is needed.
    const hfsq = f64x2.mul(f64x2.mul(kf(K.HALF), f), f);
    const kh = f64x2.mul(dk, kf(K.LN2_HI));
    const kl = f64x2.mul(dk, kf(K.LN2_LO));
    const big = f64x2.sub(kh, f64x2.sub(f64x2.sub(hfsq, f64x2.add(f64x2.mul(s, f64x2.add(hfsq, R)), kl)), f));
    const near = f64x2.sub(kh, f64x2.sub(f64x2.sub(f64x2.mul(s, f64x2.sub(f, R)), kl), f));
    v128.store(LOG + o, v128.bitselect(big, near, pos));
  }
  return v128.any_true(rare);
}

/**
 * out[2p], out[2p+1] = float32(std·r·cos θ), float32(std·r·sin θ) with θ = 2π·U2[p] and
 * r = √(−2·LOG[p]), for p < m (m even); true when a rare branch came up.
 */
function angles(out: usize, m: i32, std: f64): bool {
  let rare = ip(0);
  const SIGN = kf(K.SIGN);
  for (let p = 0; p < m; p += 2) {
    const o = <usize>p << 3;
    const x = f64x2.mul(kf(K.TWO_PI), v128.load(U2 + o));
    // comparisons of high words, done on the (nonnegative) values: hx ≤ H ⟺ x < H+1 : 0
    const small = f64x2.lt(x, kf(K.PIO4_UP)); // hx ≤ 3fe921fb, |x| ≲ π/4: the kernels take x itself
    // rem_pio2's first round (for n = 1 it is the |x| < 3π/4 case's arithmetic); fn = 0 leaves
    // y0 = x, y1 = 0 in the small lanes
    const fn = v128.andnot(f64x2.trunc(f64x2.add(f64x2.mul(x, kf(K.INVPIO2)), kf(K.HALF))), small);
    const fp = f64x2.mul(fn, kf(K.PIO2_1)); // exact: PIO2_1 has 33 bits, n ≤ 4
    const r = f64x2.sub(x, fp);
    const w = f64x2.mul(fn, kf(K.PIO2_1T));
    const y0 = f64x2.sub(r, w);
    const y1 = f64x2.sub(f64x2.sub(r, y0), w);
    const ay = f64x2.abs(y0);
    // rare: x's high word is that of n·π/2 (npio2_hw[n−1] = high word of n·PIO2_1), or |y0| < 2^-27
    rare = v128.or(rare, v128.or(wide(i32x4.eq(hi(x), hi(fp))), f64x2.lt(ay, kf(K.Y_TINY))));
    // __kernel_cos(y0, y1)
    const z = f64x2.mul(y0, y0);
    const rc = f64x2.mul(z, hs(K.C1, z, hs(K.C2, z, hs(K.C3, z, hs(K.C4, z, hs(K.C5, z, kf(K.C6)))))));
    const zrxy = f64x2.sub(f64x2.mul(z, rc), f64x2.mul(y0, y1));
    const hz = f64x2.mul(kf(K.HALF), z);
    // qx = |y0|/4 with the low word cleared (the high word ix − 0x00200000), or 0.28125 when ix > 3fe90000
    const qx = v128.bitselect(kf(K.QX_MAX), v128.and(f64x2.mul(ay, kf(K.QUARTER)), v128.load64_splat(HIGH_WORD)), f64x2.ge(ay, kf(K.Y_078)));
    const cosNear = f64x2.sub(kf(K.ONE), f64x2.sub(hz, zrxy));
    const cosFar = f64x2.sub(f64x2.sub(kf(K.ONE), qx), f64x2.sub(f64x2.sub(hz, qx), zrxy));
    const c = v128.bitselect(cosNear, cosFar, f64x2.lt(ay, kf(K.Y_03))); // ix < 3fd33333
    // __kernel_sin(y0, y1, 1), or (y0, 0, 0) in the small lanes
    const v = f64x2.mul(z, y0);
    const rs = hs(K.S2, z, hs(K.S3, z, hs(K.S4, z, hs(K.S5, z, kf(K.S6)))));
    const sin0 = f64x2.add(y0, f64x2.mul(v, hs(K.S1, z, rs)));
    const sin1 = f64x2.sub(
      y0,
      f64x2.sub(f64x2.sub(f64x2.mul(z, f64x2.sub(f64x2.mul(kf(K.HALF), y1), f64x2.mul(v, rs))), y1), f64x2.mul(v, kf(K.S1))),
    );
    const s = v128.bitselect(sin0, sin1, small);
    // quadrant n mod 4 (n = fn ≤ 4): cos = C, −S, −C, S; sin = S, C, −S, −C (a sign flip is an
    // exact negation)
    const n1 = f64x2.eq(fn, kf(K.ONE)),
      n2 = f64x2.eq(fn, kf(K.TWO)),
      n3 = f64x2.eq(fn, kf(K.THREE));
    const swap = v128.or(n1, n3);
    const cosx = v128.xor(v128.bitselect(s, c, swap), v128.and(v128.or(n1, n2), SIGN));
    const sinx = v128.xor(v128.bitselect(c, s, swap), v128.and(v128.or(n2, n3), SIGN));
    const rad = f64x2.sqrt(f64x2.mul(kf(K.MINUS_TWO), v128.load(LOG + o)));
    const vc = f64x2.mul(rad, cosx);
    const vs = f64x2.mul(rad, sinx);
    v128.store(RC + o, vc);
    v128.store(RS + o, vs);
    const fc = f32x4.demote_f64x2_zero(f64x2.mul(sp(std), vc));
    const fs = f32x4.demote_f64x2_zero(f64x2.mul(sp(std), vs));
    v128.store(out + o, v128.shuffle<i32>(fc, fs, 0, 4, 1, 5));
  }
  return v128.any_true(rare);
}

// ---- the generator: xoshiro128** and 53-bit uniforms, as in rng.ts ---------------------------

const TWO_M53: f64 = 1.1102230246251565e-16; // 2^-53

/**
 * U1[p], U2[p] for p < m: the pairs' uniforms in stream order, from the state at STATE (advanced).
 * u = ((a ≫ 5)·2²⁶ + (b ≫ 6))·2⁻⁵³ from two outputs a, b of xoshiro128** (Blackman & Vigna 2018),
 * formed as one 53-bit integer (exact) times 2⁻⁵³; a u₁ of exactly 0 is rejected and drawn again.
 * The state lives in locals (globals would be loaded and stored at every step), so the generator
 * step is written out four times, as in rng.ts's JS loop: this is the stream's hot loop, and the
 * straight-line form is faster than one step in an inner loop.
 */
function draw(m: i32): void {
  let s0 = load<i32>(STATE);
  let s1 = load<i32>(STATE + 4);
  let s2 = load<i32>(STATE + 8);
  let s3 = load<i32>(STATE + 12);
  let a: u32 = 0;
  let b: u32 = 0;
  let t: i32 = 0;
  for (let p = 0; p < m; p++) {
    let u: f64 = 0;
    do {
      a = <u32>(rotl<i32>(s1 * 5, 7) * 9) >>> 5;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl<i32>(s3, 11);
      b = <u32>(rotl<i32>(s1 * 5, 7) * 9) >>> 6;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl<i32>(s3, 11);
      u = <f64>((<u64>a << 26) | <u64>b) * TWO_M53;
    } while (u == 0);
    const o = <usize>p << 3;
    store<f64>(U1 + o, u);
    a = <u32>(rotl<i32>(s1 * 5, 7) * 9) >>> 5;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl<i32>(s3, 11);
    b = <u32>(rotl<i32>(s1 * 5, 7) * 9) >>> 6;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl<i32>(s3, 11);
    store<f64>(U2 + o, <f64>((<u64>a << 26) | <u64>b) * TWO_M53);
  }
  store<i32>(STATE, s0);
  store<i32>(STATE + 4, s1);
  store<i32>(STATE + 8, s2);
  store<i32>(STATE + 12, s3);
}

/** The second half, r·sin θ, of the last pair. */
let spare: f64 = 0;

/** Box–Muller on the scalar functions: returns r·cos θ, leaves r·sin θ in `spare` and at SPARE. */
export function boxMuller(u1: f64, u2: f64): f64 {
  const r = Math.sqrt(-2 * log(u1));
  const c = cosSin(TWO_PI * u2);
  spare = r * load<f64>(AUX);
  store<f64>(SPARE, spare);
  return r * c;
}

/** out[2p], out[2p+1] for p < m from U1, U2 by the scalar functions (a block with a rare branch). */
function scalarBlock(out: usize, m: i32, std: f64): void {
  for (let p = 0; p < m; p++) {
    const o = <usize>p << 3;
    const c = boxMuller(load<f64>(U1 + o), load<f64>(U2 + o));
    store<f32>(out + o, <f32>(std * c));
    store<f32>(out + o + 4, <f32>(std * spare));
  }
}

/**
 * OUT[0 .. n) = float32(std · (successive normals)) from the state at STATE, which is advanced;
 * n ≤ CHUNK. Returns 1 when n is odd: the unused r·sin θ of the last pair is then at SPARE.
 * Each block's uniforms are drawn first (in stream order), then its logs, then its cos and sin.
 */
export function fill(n: i32, std: f64): i32 {
  const pairs = (n + 1) >> 1;
  let m = 0;
  for (let p0 = 0; p0 < pairs; p0 += BLOCK) {
    m = min(BLOCK, pairs - p0);
    draw(m);
    // an odd block gets a harmless padding pair; its two values land after the block's
    store<f64>(U1 + (<usize>m << 3), 0.5);
    store<f64>(U2 + (<usize>m << 3), 0.5);
    const me = (m + 1) & ~1;
    const out = OUT + (<usize>p0 << 3);
    if (radii(me) | angles(out, me, std)) scalarBlock(out, m, std);
  }
  if ((n & 1) == 0) return 0;
  // the last pair's r·sin θ (OUT[n] got it as float32) is kept for the next value (at SPARE)
  const o = <usize>(m - 1) << 3;
  boxMuller(load<f64>(U1 + o), load<f64>(U2 + o));
  return 1;
}
