// WebAssembly SIMD kernels of the amdm core (AssemblyScript). `npm run build:wasm` compiles
// this file into src/core/wasm-module.ts (base64), which src/core/wasm-backend.ts instantiates;
// test/core/wasm-build.test.ts checks that the committed bytes match this source.
//
// Conventions: pointers are byte offsets into the imported memory, `n` counts elements.
// Element-wise arithmetic is float32 (4 lanes); reductions (dots, norms, distances) promote to
// float64 and accumulate in float64 (2 lanes × 2 accumulators), like the JS reference, whose
// products of two float32 values are exact in float64. Reductions write their results to the
// float64 slots at byte 0 (RES), which the caller reads.

const RES: usize = 0;

@inline function lo(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline function hi(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)); }
@inline function hsum(v: v128): f64 { return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1); }

/** DDIM step with η_ddim = 0 (eq. 4/6 closed form): mean = prev = A·x + B·ε. */
export function ddim(x: usize, e: usize, mean: usize, prev: usize, n: i32, A: f32, B: f32): void {
  const va = f32x4.splat(A), vb = f32x4.splat(B);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const m = f32x4.add(f32x4.mul(va, v128.load(x + o)), f32x4.mul(vb, v128.load(e + o)));
    v128.store(mean + o, m);
    v128.store(prev + o, m);
  }
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const m = A * load<f32>(x + o) + B * load<f32>(e + o);
    store<f32>(mean + o, m);
    store<f32>(prev + o, m);
  }
}

/** DDIM step with noise: mean = A·x + B·ε, prev = mean + σ·z. */
export function ddimNoise(x: usize, e: usize, z: usize, mean: usize, prev: usize, n: i32, A: f32, B: f32, sigma: f32): void {
  const va = f32x4.splat(A), vb = f32x4.splat(B), vs = f32x4.splat(sigma);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const m = f32x4.add(f32x4.mul(va, v128.load(x + o)), f32x4.mul(vb, v128.load(e + o)));
    v128.store(mean + o, m);
    v128.store(prev + o, f32x4.add(m, f32x4.mul(vs, v128.load(z + o))));
  }
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const m = A * load<f32>(x + o) + B * load<f32>(e + o);
    store<f32>(mean + o, m);
    store<f32>(prev + o, m + sigma * load<f32>(z + o));
  }
}

/** out = ca·a + cb·b (lerp, vp, and the last pass of slerp and nlerp). */
export function combine(a: usize, b: usize, out: usize, n: i32, ca: f32, cb: f32): void {
  const va = f32x4.splat(ca), vb = f32x4.splat(cb);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(va, v128.load(a + o)), f32x4.mul(vb, v128.load(b + o))));
  }
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, ca * load<f32>(a + o) + cb * load<f32>(b + o));
  }
}

/** RES[0..2] = ⟨a, b⟩, ‖a‖², ‖b‖² in one pass (slerp's angle). */
export function dot3(a: usize, b: usize, n: i32): void {
  let ab0 = f64x2.splat(0), ab1 = f64x2.splat(0), aa0 = f64x2.splat(0), aa1 = f64x2.splat(0), bb0 = f64x2.splat(0), bb1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const u = v128.load(a + o), v = v128.load(b + o);
    const ul = lo(u), uh = hi(u), vl = lo(v), vh = hi(v);
    ab0 = f64x2.add(ab0, f64x2.mul(ul, vl)); ab1 = f64x2.add(ab1, f64x2.mul(uh, vh));
    aa0 = f64x2.add(aa0, f64x2.mul(ul, ul)); aa1 = f64x2.add(aa1, f64x2.mul(uh, uh));
    bb0 = f64x2.add(bb0, f64x2.mul(vl, vl)); bb1 = f64x2.add(bb1, f64x2.mul(vh, vh));
  }
  let ab = hsum(f64x2.add(ab0, ab1)), aa = hsum(f64x2.add(aa0, aa1)), bb = hsum(f64x2.add(bb0, bb1));
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const u = <f64>load<f32>(a + o), v = <f64>load<f32>(b + o);
    ab += u * v; aa += u * u; bb += v * v;
  }
  store<f64>(RES, ab); store<f64>(RES + 8, aa); store<f64>(RES + 16, bb);
}

/** RES[0..2] = ‖a‖², ‖b‖², ‖ca·a + cb·b‖² in one pass (nlerp), the combination in float64. */
export function nlerpSums(a: usize, b: usize, n: i32, ca: f64, cb: f64): void {
  const wa = f64x2.splat(ca), wb = f64x2.splat(cb);
  let aa0 = f64x2.splat(0), aa1 = f64x2.splat(0), bb0 = f64x2.splat(0), bb1 = f64x2.splat(0), vv0 = f64x2.splat(0), vv1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const u = v128.load(a + o), v = v128.load(b + o);
    const ul = lo(u), uh = hi(u), vl = lo(v), vh = hi(v);
    aa0 = f64x2.add(aa0, f64x2.mul(ul, ul)); aa1 = f64x2.add(aa1, f64x2.mul(uh, uh));
    bb0 = f64x2.add(bb0, f64x2.mul(vl, vl)); bb1 = f64x2.add(bb1, f64x2.mul(vh, vh));
    const cl = f64x2.add(f64x2.mul(wa, ul), f64x2.mul(wb, vl)), ch = f64x2.add(f64x2.mul(wa, uh), f64x2.mul(wb, vh));
    vv0 = f64x2.add(vv0, f64x2.mul(cl, cl)); vv1 = f64x2.add(vv1, f64x2.mul(ch, ch));
  }
  let aa = hsum(f64x2.add(aa0, aa1)), bb = hsum(f64x2.add(bb0, bb1)), vv = hsum(f64x2.add(vv0, vv1));
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const u = <f64>load<f32>(a + o), v = <f64>load<f32>(b + o);
    const c = ca * u + cb * v;
    aa += u * u; bb += v * v; vv += c * c;
  }
  store<f64>(RES, aa); store<f64>(RES + 8, bb); store<f64>(RES + 16, vv);
}

/** ‖a − b‖² in float64 (eq. 9's distance), the difference taken in float64. */
export function distSq(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const u = v128.load(a + o), v = v128.load(b + o);
    const dl = f64x2.sub(lo(u), lo(v)), dh = f64x2.sub(hi(u), hi(v));
    s0 = f64x2.add(s0, f64x2.mul(dl, dl)); s1 = f64x2.add(s1, f64x2.mul(dh, dh));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const d = <f64>load<f32>(a + o) - <f64>load<f32>(b + o);
    s += d * d;
  }
  return s;
}

/** ‖a‖² in float64. */
export function sumSq(a: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const u = v128.load(a + (<usize>i << 2));
    const ul = lo(u), uh = hi(u);
    s0 = f64x2.add(s0, f64x2.mul(ul, ul)); s1 = f64x2.add(s1, f64x2.mul(uh, uh));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = m4; i < n; i++) {
    const u = <f64>load<f32>(a + (<usize>i << 2));
    s += u * u;
  }
  return s;
}

/** Eq. 9's step: out = x − k·(x − μ). */
export function deviateStep(x: usize, mu: usize, out: usize, n: i32, k: f32): void {
  const vk = f32x4.splat(k);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const o = <usize>i << 2;
    const u = v128.load(x + o);
    v128.store(out + o, f32x4.sub(u, f32x4.mul(vk, f32x4.sub(u, v128.load(mu + o)))));
  }
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 2;
    const u = load<f32>(x + o);
    store<f32>(out + o, u - k * (u - load<f32>(mu + o)));
  }
}

/** 1 when any of the n values is NaN or ±∞ (x − x is NaN exactly for those), else 0. */
export function anyNonFinite(x: usize, n: i32): i32 {
  let bad = i32x4.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const u = v128.load(x + (<usize>i << 2));
    const d = f32x4.sub(u, u);
    bad = v128.or(bad, f32x4.ne(d, d));
  }
  if (v128.any_true(bad)) return 1;
  for (let i = m4; i < n; i++) {
    const u = load<f32>(x + (<usize>i << 2));
    if (u - u != u - u) return 1;
  }
  return 0;
}

// ---- the spherical mean's inner passes: q, u are float64 vectors, x float32 -----------------

/** q += c·x. */
export function sphAccumulate(q: usize, x: usize, n: i32, c: f64): void {
  const vc = f64x2.splat(c);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const u = v128.load(x + (<usize>i << 2));
    const p = q + (<usize>i << 3);
    v128.store(p, f64x2.add(v128.load(p), f64x2.mul(vc, lo(u))));
    v128.store(p + 16, f64x2.add(v128.load(p + 16), f64x2.mul(vc, hi(u))));
  }
  for (let i = m4; i < n; i++) {
    const p = q + (<usize>i << 3);
    store<f64>(p, load<f64>(p) + c * <f64>load<f32>(x + (<usize>i << 2)));
  }
}

/** ‖v‖ of a float64 vector. */
export function norm64(v: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const p = v + (<usize>i << 3);
    const a = v128.load(p), b = v128.load(p + 16);
    s0 = f64x2.add(s0, f64x2.mul(a, a)); s1 = f64x2.add(s1, f64x2.mul(b, b));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = m4; i < n; i++) { const a = load<f64>(v + (<usize>i << 3)); s += a * a; }
  return Math.sqrt(s);
}

/** v ← v / d. */
export function div64(v: usize, n: i32, d: f64): void {
  const vd = f64x2.splat(d);
  const m2 = n & ~1;
  for (let i = 0; i < m2; i += 2) { const p = v + (<usize>i << 3); v128.store(p, f64x2.div(v128.load(p), vd)); }
  if (m2 < n) { const p = v + (<usize>m2 << 3); store<f64>(p, load<f64>(p) / d); }
}

/** ⟨q, x⟩ (q float64, x float32). */
export function dot64(q: usize, x: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const u = v128.load(x + (<usize>i << 2));
    const p = q + (<usize>i << 3);
    s0 = f64x2.add(s0, f64x2.mul(v128.load(p), lo(u))); s1 = f64x2.add(s1, f64x2.mul(v128.load(p + 16), hi(u)));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = m4; i < n; i++) s += load<f64>(q + (<usize>i << 3)) * <f64>load<f32>(x + (<usize>i << 2));
  return s;
}

/** ‖inv·x − c·q‖²: sin² of the angle between x̂ and q, with c = cos. */
export function sinSq(q: usize, x: usize, n: i32, inv: f64, c: f64): f64 {
  const vi = f64x2.splat(inv), vc = f64x2.splat(c);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const u = v128.load(x + (<usize>i << 2));
    const p = q + (<usize>i << 3);
    const dl = f64x2.sub(f64x2.mul(lo(u), vi), f64x2.mul(vc, v128.load(p)));
    const dh = f64x2.sub(f64x2.mul(hi(u), vi), f64x2.mul(vc, v128.load(p + 16)));
    s0 = f64x2.add(s0, f64x2.mul(dl, dl)); s1 = f64x2.add(s1, f64x2.mul(dh, dh));
  }
  let s = hsum(f64x2.add(s0, s1));
  for (let i = m4; i < n; i++) {
    const d = <f64>load<f32>(x + (<usize>i << 2)) * inv - c * load<f64>(q + (<usize>i << 3));
    s += d * d;
  }
  return s;
}

/** u += f·(inv·x − c·q): one weighted log map term. */
export function logAccumulate(u: usize, q: usize, x: usize, n: i32, inv: f64, c: f64, f: f64): void {
  const vi = f64x2.splat(inv), vc = f64x2.splat(c), vf = f64x2.splat(f);
  const m4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    const xv = v128.load(x + (<usize>i << 2));
    const o = <usize>i << 3;
    const dl = f64x2.sub(f64x2.mul(lo(xv), vi), f64x2.mul(vc, v128.load(q + o)));
    const dh = f64x2.sub(f64x2.mul(hi(xv), vi), f64x2.mul(vc, v128.load(q + o + 16)));
    v128.store(u + o, f64x2.add(v128.load(u + o), f64x2.mul(vf, dl)));
    v128.store(u + o + 16, f64x2.add(v128.load(u + o + 16), f64x2.mul(vf, dh)));
  }
  for (let i = m4; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(u + o, load<f64>(u + o) + f * (<f64>load<f32>(x + (<usize>i << 2)) * inv - c * load<f64>(q + o)));
  }
}

/** q ← a·q + b·u (the exponential map's step). */
export function expStep(q: usize, u: usize, n: i32, a: f64, b: f64): void {
  const va = f64x2.splat(a), vb = f64x2.splat(b);
  const m2 = n & ~1;
  for (let i = 0; i < m2; i += 2) {
    const o = <usize>i << 3;
    v128.store(q + o, f64x2.add(f64x2.mul(va, v128.load(q + o)), f64x2.mul(vb, v128.load(u + o))));
  }
  if (m2 < n) { const o = <usize>m2 << 3; store<f64>(q + o, a * load<f64>(q + o) + b * load<f64>(u + o)); }
}

/** out (float32) = r·q. */
export function scaleOut(out: usize, q: usize, n: i32, r: f64): void {
  for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(r * load<f64>(q + (<usize>i << 3))));
}
